"""``c.JupyterLease`` typed once (jupyter_lease/settings.py): duration and threshold traits that
check a value as it is set, one resolved value for kernel, server and CLI, and a bad value in a
config file as one line naming the trait. The real-server side is tests/test_frontend_settings.py,
the kernel's ``%config`` tests/test_magic.py."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from traitlets import TraitError
from traitlets.config import Config

from jupyter_lease.core.resolved import DEFAULT_THRESHOLDS, Resolved
from jupyter_lease.core.schedule import PollSchedule
from jupyter_lease.settings import JupyterLease, drop_bad_settings, resolve

PACKAGE = Path(__file__).resolve().parent.parent / "jupyter_lease"
DURATIONS = [
    "poll_far",
    "poll_near",
    "poll_final",
    "renew_margin",
    "renew_step",
    "renew_check_every",
    "renew_max_cap",
    "renew_while_busy",
    "extend_default",
]


@pytest.mark.parametrize("name", [*DURATIONS, "warn_at"])
def test_a_bad_duration_is_refused_by_its_trait_in_one_line_naming_it(name):
    with pytest.raises(TraitError) as refused:
        JupyterLease(**{name: "soon"})
    line = str(refused.value)
    assert line.startswith(f"c.JupyterLease.{name} = 'soon' is not valid: ") and "\n" not in line
    assert "cannot read duration 'soon'" in line


def test_good_values_are_kept_as_typed_and_resolved_once():
    config = JupyterLease(
        warn_at=" 45m,5m ", poll_far="10m", poll_near="2m", poll_final="20s",
        extend_choices=[" 2h", "1h30m", "2h"], notifications=False, renew_while_busy="",
    )  # fmt: skip
    assert config.warn_at == "45m,5m" and config.extend_choices == ["2h", "1h30m"]
    assert config.renew_while_busy == ""  # empty: keep alive while busy is off
    settings = resolve(config)
    assert settings.warn_at == (timedelta(minutes=45), timedelta(minutes=5))
    assert settings.warn_at_ms == (2_700_000, 300_000)
    assert settings.schedule == PollSchedule(far=600.0, near=120.0, final=20.0)
    assert settings.extend_choices == ("2h", "1h30m") and settings.notifications is False


def test_the_defaults_resolve_to_the_cores_defaults():
    settings = resolve(JupyterLease())
    assert settings.warn_at == DEFAULT_THRESHOLDS
    assert settings.schedule == PollSchedule()
    defaults = Resolved()
    assert (settings.extend_choices, settings.notifications) == (
        defaults.extend_choices,
        defaults.notifications,
    )


@pytest.mark.parametrize("choices", [[], ["2h", "later"], ["1h"] * 25])
def test_extend_choices_are_1_to_24_durations(choices):
    with pytest.raises(TraitError, match=r"^c\.JupyterLease\.extend_choices = "):
        JupyterLease(extend_choices=choices)


def test_bad_config_values_are_dropped_with_one_line_each_and_the_rest_kept():
    config = Config(
        {
            "JupyterLease": {
                "warn_at": "20m",
                "poll_far": "later",
                "notifications": "yes",
                "renew_step": 3600,
            }
        }
    )
    lines = []
    dropped = drop_bad_settings(config, lines.append)
    assert sorted(dropped) == ["notifications", "poll_far", "renew_step"]
    assert dict(config.JupyterLease) == {"warn_at": "20m"}
    assert len(lines) == 3 and all("\n" not in line for line in lines)
    for name, line in zip(["poll_far", "notifications", "renew_step"], lines):
        assert line.startswith(f"jupyter_lease: c.JupyterLease.{name}") and "Traceback" not in line
        assert line.endswith("; the default is used")
    settings = resolve(JupyterLease(config=config))  # now nothing can fail on it
    assert settings.warn_at == (timedelta(minutes=20),) and settings.schedule == PollSchedule()
    assert drop_bad_settings(config, lines.append) == [] and len(lines) == 3  # idempotent


def _imports(path: Path) -> set:
    """The modules a file imports, relative ones resolved against the package."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            found.add(".".join(p for p in (base, node.module or "") if p))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_watch_package_imports_nothing_of_the_kernel_package():
    for path in sorted((PACKAGE / "watch").glob("*.py")):
        kernel = {m for m in _imports(path) if m.startswith("jupyter_lease.kernel")}
        assert kernel == set(), f"{path.name} imports {kernel}"
