"""The jupyterhub provider's pure parts (no hub needed): the settings a site passes, the Hub's
user model → a reading, jupyterlab-server-timer's variables from a fixture, which provider
auto picks, and what doctor says. The real hub is tests/jupyterhub/."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Dict

import pytest

from jupyter_lease._errors import BadResponseError, ConfigurationError, ExtendNotAllowedError
from jupyter_lease.core import present
from jupyter_lease.doctor.provider import hub_report
from jupyter_lease.jupyterhub.config import HubSettings, hub_present, settings_from
from jupyter_lease.jupyterhub.model import (
    MAX_AGE_REASON,
    SCOPE_HINT,
    ServerTimes,
    activity_body,
    hub_reading,
    parse_timestamp,
    server_times,
)
from jupyter_lease.jupyterhub.source import HubSource
from jupyter_lease.server.service import LeaseService
from jupyter_lease.watch.cache import CachedSource
from jupyter_lease.watch.providers import choose
from jupyter_lease.watch.sources import build_source

FIXTURES = Path(__file__).parent / "data" / "jupyterhub"
T0 = 1_796_500_000.0  # 2026-12-05T19:46:40Z
HUB = {
    "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",
    "JUPYTERHUB_API_TOKEN": "0123456789abcdef0123456789abcdef",
    "JUPYTERHUB_USER": "alice",
    "JUPYTERHUB_SERVER_NAME": "",
}


@pytest.fixture
def bare(tmp_path: Path) -> Dict[str, str]:
    return {"JUPYTER_RUNTIME_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}


@pytest.mark.parametrize(
    "value, seconds",
    [("3600", 3600.0), ("1h", 3600.0), ("90m", 5400.0), (" 45 ", 45.0), ("", None), ("0", None)],
)
def test_cull_settings_read_as_the_cullers_flags(value: str, seconds: object) -> None:
    settings = settings_from({**HUB, "JUPYTER_LEASE_CULL_TIMEOUT": value})
    assert settings.cull_timeout == seconds


def test_a_bad_cull_setting_is_one_line_naming_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings_from({**HUB, "JUPYTER_LEASE_MAX_AGE": "soon"})
    assert str(caught.value).startswith("JUPYTER_LEASE_MAX_AGE: ")
    assert "\n" not in str(caught.value)


def test_the_token_never_shows(tmp_path: Path) -> None:
    settings = settings_from(HUB)
    source = HubSource(settings)
    for text in (repr(settings), repr(source), source.describe(), source.source_id):
        assert HUB["JUPYTERHUB_API_TOKEN"] not in text
    doctor = json.dumps(hub_report(choose(environ=HUB), environ=HUB).to_dict())  # no network
    assert HUB["JUPYTERHUB_API_TOKEN"] not in doctor and "set (not shown)" in doctor


@pytest.mark.parametrize(
    "stamp, epoch",
    [
        ("2026-12-05T19:46:40.000000Z", T0),
        ("2026-12-05T19:46:40.5Z", T0 + 0.5),
        ("2026-12-05T20:46:40+01:00", T0),
        ("2026-12-05T19:46:40", T0),  # naive: UTC, as the Hub stores it
    ],
)
def test_hub_timestamps(stamp: str, epoch: float) -> None:
    assert parse_timestamp(stamp) == pytest.approx(epoch)


@pytest.mark.parametrize("bad", ["yesterday", 5, "2026-13-45T00:00:00Z"])
def test_a_bad_timestamp_is_one_line(bad: object) -> None:
    with pytest.raises(BadResponseError, match="the hub sent"):
        parse_timestamp(bad)


def test_the_servers_own_entry_wins_over_the_users() -> None:
    model = json.loads((FIXTURES / "user-with-server.json").read_text())
    times = server_times(model, "")
    assert times.server_readable and times.running
    assert times.last_activity == parse_timestamp(model["servers"][""]["last_activity"])
    assert times.started == parse_timestamp(model["servers"][""]["started"])
    user_only = server_times({"name": "alice", "last_activity": model["last_activity"]}, "")
    assert user_only == ServerTimes(last_activity=parse_timestamp(model["last_activity"]))
    gone = server_times({**model, "servers": {}}, "")
    assert not gone.running and hub_reading(settings_from(HUB), gone, T0).kind == "stopped"


def test_idle_cull_is_a_lower_bound_that_extend_moves() -> None:
    settings = HubSettings(**{**_base(), "cull_timeout": 3600.0, "cull_every": 600.0})
    reading = hub_reading(settings, ServerTimes(last_activity=T0 - 600), T0)
    assert reading.kind == "timed" and reading.lower_bound and reading.can_extend
    assert reading.deadline == T0 + 3000 and reading.started_at == T0 - 600
    assert reading.extend_range == (3600.0, 3600.0) and reading.extend_choices == ("1h",)
    shown = present(reading, T0)
    assert shown.headline == "at least 50 min left" and shown.at_least
    assert "the hub's idle culler; it looks every 10m" in shown.detail


def test_the_earlier_of_idle_and_max_age_is_shown() -> None:
    settings = HubSettings(**{**_base(), "cull_timeout": 3600.0, "max_age": 8 * 3600.0})
    times = ServerTimes(last_activity=T0, started=T0 - 7.5 * 3600, server_readable=True)
    reading = hub_reading(settings, times, T0)
    assert reading.deadline == T0 + 1800 and reading.stop_reason == MAX_AGE_REASON
    assert not reading.can_extend and reading.extend_choices == ()
    assert present(reading, T0).detail.endswith(f"— {MAX_AGE_REASON}")


def test_max_age_without_the_start_says_which_scope_is_missing() -> None:
    settings = HubSettings(**{**_base(), "cull_timeout": 600.0, "max_age": 3600.0})
    reading = hub_reading(settings, ServerTimes(last_activity=T0), T0)
    assert reading.deadline == T0 + 600 and reading.error == SCOPE_HINT
    nothing = hub_reading(HubSettings(**_base()), ServerTimes(last_activity=T0), T0)
    assert nothing.kind == "unknown" and "JUPYTER_LEASE_CULL_TIMEOUT" in (nothing.error or "")


def test_jupyterlab_server_timer_variables_are_a_fixed_stop(bare: Dict[str, str]) -> None:
    """A batchspawner script's ``export JOB_START_TIME=$(date +%s)`` and ``JOB_RUN_TIME``:
    read without any hub (no request is made), exact, not extendable."""
    env = dict(bare, **json.loads((FIXTURES / "timer-env.json").read_text()))
    choice = choose(environ=env)
    assert choice.provider == "jupyterhub" and "JOB_RUN_TIME" in choice.why
    source = HubSource.from_environ(env)
    assert not source.asks_hub
    reading = source.read()
    assert reading.kind == "timed" and not reading.lower_bound and not reading.stale
    assert reading.deadline == int(env["JOB_START_TIME"]) + int(env["JOB_RUN_TIME"])
    assert "JOB_RUN_TIME" in reading.stop_reason and not reading.can_extend
    with pytest.raises(ExtendNotAllowedError):
        source.extend(60)
    with pytest.raises(ConfigurationError, match="JOB_RUN_TIME should be a whole number"):
        settings_from(dict(env, JOB_RUN_TIME="2h"))


def test_auto_picks_the_hub_after_modelarts_and_before_slurm(bare, tmp_path) -> None:
    env = dict(bare, SLURM_JOB_ID="42", **HUB)
    assert hub_present(env)
    choice = choose(environ=env)
    assert choice.provider == "jupyterhub" and "JUPYTERHUB_API_URL" in choice.why
    source = build_source(environ=dict(env, JUPYTER_LEASE_CACHE_DIR=str(tmp_path / "c")))
    assert isinstance(source, CachedSource) and isinstance(source.source, HubSource)
    assert choose("slurm", environ=env).provider == "slurm"
    assert choose(environ=dict(env, JUPYTER_LEASE_PROVIDER="jupyterhub")).why.startswith("set")
    assert choose(environ=dict(bare, SLURM_JOB_ID="42")).provider == "slurm"


def test_an_unreachable_hub_is_a_stale_reading_in_one_line() -> None:
    settings = settings_from({**HUB, "JUPYTER_LEASE_CULL_TIMEOUT": "1h"})
    reading = HubSource(settings).read()  # port 9: nothing listens
    assert reading.stale and reading.error and "\n" not in reading.error
    assert "the hub at http://127.0.0.1:9/hub/api" in reading.error


def test_the_activity_body_is_the_hubs_shape() -> None:
    body = activity_body(HubSettings(**{**_base(), "server_name": "gpu"}), T0)
    assert body == {
        "last_activity": "2026-12-05T19:46:40Z",
        "servers": {"gpu": {"last_activity": "2026-12-05T19:46:40Z"}},
    }


def test_doctor_says_what_the_admin_must_pass() -> None:
    report = hub_report(choose(environ=HUB), environ=HUB)
    rows = {row.setting: row for section in report.sections for row in section.rows}
    assert rows["culler --timeout"].status == "missing" and not report.ok
    assert "c.Spawner.environment" in rows["culler --timeout"].source


def test_an_unexpected_builtin_error_is_reported_once_not_a_500() -> None:
    service = LeaseService(logging.getLogger("test"))
    try:
        assert service.first_report(TypeError("a bug")) is True
    finally:
        service.close()


def _base() -> Dict[str, str]:
    return {"api_url": HUB["JUPYTERHUB_API_URL"], "token": "t", "user": "alice"}


def test_the_servers_config_is_exported_for_its_kernels(monkeypatch) -> None:
    """``c.JupyterLease.cull_timeout`` etc. in the server's config win over the Hub's
    environment, reach the kernels and terminals it starts; a bad one is one line, ignored."""
    from traitlets.config import Config, LoggingConfigurable

    from jupyter_lease.server.loader import _export_hub_settings

    monkeypatch.setenv("JUPYTER_LEASE_CULL_TIMEOUT", "600")
    monkeypatch.delenv("JUPYTER_LEASE_MAX_AGE", raising=False)
    config = Config({"JupyterLease": {"cull_timeout": "1h", "max_age": "soon"}})
    app = LoggingConfigurable(config=config)
    _export_hub_settings(app)
    assert os.environ["JUPYTER_LEASE_CULL_TIMEOUT"] == "1h"
    assert "JUPYTER_LEASE_MAX_AGE" not in os.environ
    assert settings_from().cull_timeout == 3600.0
