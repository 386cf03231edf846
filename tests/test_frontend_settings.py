"""The server's ``c.JupyterLease`` served to the browser with every lease (``settings``): checked
once at load by the typed traits (jupyter_lease/settings.py), a bad value one WARNING line naming
the trait and its default; in a real ``jupyter_server`` too."""

from __future__ import annotations

import logging
from typing import Iterator

import pytest
from traitlets.config import Config, Configurable

from jupyter_lease.server.frontend import frontend_settings
from jupyter_lease.simulator.app import Simulator
from tests.support.jupyter import JupyterServer, clean_env

LEASE = "jupyter-lease/api/lease"
DEFAULT_MS = [1_800_000, 600_000, 300_000, 60_000]
DEFAULT_CHOICES = ["1h", "2h", "4h", "8h", "24h", "72h"]
DEFAULTS = {
    "warn_at_ms": DEFAULT_MS,
    "extend_choices": DEFAULT_CHOICES,
    "notifications": True,
    "extend_default": "1h",
}


def settings_for(caplog: pytest.LogCaptureFixture, **traits: object) -> dict:
    parent = Configurable(config=Config({"JupyterLease": traits}))
    with caplog.at_level(logging.WARNING, logger="lease-test"):
        return frontend_settings(parent, logging.getLogger("lease-test"))


def warnings(caplog: pytest.LogCaptureFixture) -> list:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_defaults_without_configuration(caplog):
    got = settings_for(caplog)
    assert got == DEFAULTS
    assert warnings(caplog) == []


def test_configured_values_are_served_sorted_and_deduplicated(caplog):
    got = settings_for(
        caplog,
        warn_at="5m, 45m,5m",
        extend_choices=[" 2h", "1h30m", "2h"],
        notifications=False,
        extend_default=" 2h",
    )
    assert got == {
        "warn_at_ms": [2_700_000, 300_000],
        "extend_choices": ["2h", "1h30m"],
        "notifications": False,
        "extend_default": "2h",
    }
    assert warnings(caplog) == []


@pytest.mark.parametrize(
    "traits, name, field, default",
    [
        ({"warn_at": "soon"}, "warn_at", "warn_at_ms", DEFAULT_MS),
        ({"warn_at": ""}, "warn_at", "warn_at_ms", DEFAULT_MS),
        ({"extend_choices": ["2h", "ever"]}, "extend_choices", "extend_choices", DEFAULT_CHOICES),
        ({"extend_choices": []}, "extend_choices", "extend_choices", DEFAULT_CHOICES),
        ({"extend_default": "soon"}, "extend_default", "extend_default", "1h"),
    ],
)
def test_a_bad_value_is_one_warning_line_and_the_default(caplog, traits, name, field, default):
    got = settings_for(caplog, **traits)
    assert got[field] == default
    lines = warnings(caplog)
    assert len(lines) == 1 and f"c.JupyterLease.{name} = " in lines[0], lines
    assert lines[0].endswith("the default is used") and "\n" not in lines[0]


def test_a_value_of_the_wrong_type_is_one_warning_line_naming_it_and_its_default(caplog):
    got = settings_for(caplog, notifications="yes please", warn_at="45m")
    assert got == {**DEFAULTS, "warn_at_ms": [2_700_000]}  # the others are kept
    lines = warnings(caplog)
    assert len(lines) == 1 and "c.JupyterLease.notifications: " in lines[0], lines
    assert "'yes please'" in lines[0] and "\n" not in lines[0]


# -- a real server ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    sim = Simulator().start()
    root = tmp_path_factory.mktemp("frontend-settings")
    srv = JupyterServer(root, {**clean_env(), **sim.environ()})
    (root / "config" / "jupyter_server_config.py").write_text(
        'c.JupyterLease.warn_at = "45m"\nc.JupyterLease.extend_choices = ["2h", "later"]\n'
        'c.JupyterLease.poll_far = "soon"\nc.JupyterLease.renew_margin = 600\n'
    )
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        sim.stop()


def test_the_get_serves_the_servers_settings(server):
    body = server.get(LEASE).json()
    assert body["reading"]["kind"] == "timed"
    assert body["settings"] == {
        "warn_at_ms": [2_700_000],
        "extend_choices": DEFAULT_CHOICES,  # "later" is not a duration: the defaults
        "notifications": True,
        "extend_default": "1h",
    }
    log = server.log()
    for name, shown in (
        ("extend_choices", "'later'"),
        ("poll_far", "'soon'"),
        ("renew_margin", ""),
    ):
        bad = [line for line in log.splitlines() if f"c.JupyterLease.{name}" in line]
        assert len(bad) == 1 and shown in bad[0], log[-2000:]  # one line each, naming it
        assert bad[0].endswith("the default is used")
    assert "Traceback" not in log
    assert "keep alive while busy unavailable" not in log  # it read the same settings
