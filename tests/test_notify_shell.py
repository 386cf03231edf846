"""Server-side alerts, the shell: where the URLs come from (and how they are never shown),
Apprise sends to a real local listener with retries, and the once rule under the real file lock
(jupyter_lease.notify.channels, .sender, .notifier)."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Iterator, List

import pytest

from jupyter_lease.core.reading import Reading
from jupyter_lease.core.retry import RetryPolicy
from jupyter_lease.doctor.notify import TITLE, notify_section
from jupyter_lease.notify.channels import INSTALL_LINE, load_channels, scheme_of, write_user_file
from jupyter_lease.notify.decide import Alert, SentRecord
from jupyter_lease.notify.notifier import Notifier
from jupyter_lease.notify.sender import Sender
from tests.support.checks import assert_no_secret
from tests.support.cli import run
from tests.support.listener import Listener
from tests.support.scenarios import wait_until

SECRET = "tok-93b1e07c"


@pytest.fixture
def hook() -> Iterator[Listener]:
    with Listener() as listener:
        yield listener


class Lines(logging.Handler):
    """Every line a logger writes, formatted as the server's log would hold it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def log() -> Iterator[logging.Logger]:
    logger = logging.getLogger("test_notify_shell")
    logger.setLevel(logging.DEBUG)
    handler = Lines()
    logger.addHandler(handler)
    logger.lines = handler.lines  # type: ignore[attr-defined]
    yield logger
    logger.removeHandler(handler)


def json_url(hook: Listener) -> str:
    return f"json://bob:{SECRET}@127.0.0.1:{hook.port}/{SECRET}-path"


# -- channels ----------------------------------------------------------------------------------


def test_channels_come_from_config_environment_and_file_once_each(tmp_path):
    path = str(tmp_path / "cfg" / "jupyter_lease" / "notify.json")
    write_user_file(["ntfy://topic-a", "json://h/x"], path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    env = {"JUPYTER_LEASE_NOTIFY": "json://h/x  mailto://u:p@example.com"}
    found = load_channels(["slack://T/B/C", "not a url"], env, path)
    assert [(c.scheme, c.origin) for c in found.channels] == [
        ("slack", "c.JupyterLease.notify_urls"),
        ("json", "$JUPYTER_LEASE_NOTIFY"),
        ("mailto", "$JUPYTER_LEASE_NOTIFY"),
        ("ntfy", path),
    ]
    assert found.masked() == "slack://…, json://…, mailto://…, ntfy://…"
    (problem,) = found.problems
    assert "not a url" not in problem and "c.JupyterLease.notify_urls" in problem
    assert "slack" not in repr(found) and "T/B/C" not in repr(found)  # a repr shows no URL


def test_a_planted_or_bad_user_file_is_one_line_and_no_channel(tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text('{"urls": ["json://h/planted"]}')
    link = tmp_path / "notify.json"
    link.symlink_to(target)
    found = load_channels([], {}, str(link))
    assert found.channels == () and "symbolic link" in found.problems[0]
    link.unlink()
    link.write_text('{"urls": "json://h/x"}')
    found = load_channels([], {}, str(link))
    assert found.channels == () and "json://" not in found.problems[0]
    os.chmod(link, 0o666)
    assert "writable by other users" in load_channels([], {}, str(link)).problems[0]


def test_writing_a_bad_url_is_refused_without_echoing_it(tmp_path):
    with pytest.raises(ValueError) as info:
        write_user_file(["json://ok/x", f"{SECRET}-no-scheme"], str(tmp_path / "n.json"))
    assert SECRET not in str(info.value) and "URL 2" in str(info.value)
    assert scheme_of("WeCom://key") == "wecom" and scheme_of("://x") is None


# -- sending -----------------------------------------------------------------------------------


def sender_for(url: str, log: logging.Logger, attempts: int = 3) -> Sender:
    policy = RetryPolicy(attempts=attempts, base=0.05, cap=0.1)
    return Sender(load_channels([url], {}, "/nonexistent/notify.json"), log, policy=policy)


ALERT = Alert("threshold:1:600", "threshold", "notebook: 10 min left", "save your work")


def test_a_500_is_retried_and_the_status_says_so_in_one_line_without_the_url(hook, log):
    pytest.importorskip("apprise")
    sender = sender_for(json_url(hook), log)
    try:
        hook.fail_next(2)
        sender.submit(ALERT)
        wait_until(lambda: hook.delivered(), 20, "the alert, on the third try")
        assert [p.status for p in hook.posts] == [500, 500, 200]
        assert hook.posts[-1].body["title"] == ALERT.title
        assert hook.posts[-1].body["message"] == ALERT.body
        wait_until(lambda: (sender.status() or {}).get("ok"), 5, "the status")
        hook.fail_next(99)
        sender.submit(ALERT)
        wait_until(lambda: (sender.status() or {}).get("ok") is False, 20, "the failure")
        wait_until(lambda: "not delivered" in (sender.status()["error"] or ""), 20, "3 tries")
        status = sender.status()
        assert status["error"] == "threshold alert not delivered: json://… HTTP 500"
        assert status["channels"] == ["json://…"]
    finally:
        sender.close()
    assert_no_secret(str(status), *log.lines, secrets=[SECRET, json_url(hook)])  # type: ignore[attr-defined]
    assert any("sent to json://… (try 3)" in line for line in log.lines)  # type: ignore[attr-defined]


# -- the once rule -----------------------------------------------------------------------------


def test_two_notifiers_on_one_lease_cache_send_each_alert_once(hook, log, tmp_path):
    # Eight notifiers (eight servers' worth) tick at once on one cache directory: the lease
    # cache's lock and the sent record let exactly one of them send each alert.
    pytest.importorskip("apprise")
    cache = str(tmp_path / "cache" / "jupyter_lease-abc.json")
    os.makedirs(os.path.dirname(cache), mode=0o700)
    reading = Reading(
        kind="timed", deadline=2e9, read_at=2e9 - 500, source="notebook", source_id="abc"
    )
    senders = [sender_for(json_url(hook), log) for _ in range(8)]
    notifiers = [
        Notifier(
            s,
            lambda: ("modelarts:abc@sim", cache),
            (600.0, 60.0),
            clock=lambda: 2e9 - 500,
            logger=log,
        )
        for s in senders
    ]
    try:
        for notifier in notifiers:
            notifier.observe({"reading": reading.to_json()})
        start = threading.Barrier(len(notifiers))

        def tick(n: Notifier) -> None:
            start.wait(5)
            n.tick()

        threads = [threading.Thread(target=tick, args=(n,)) for n in notifiers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        elsewhere = "sent elsewhere"
        wait_until(
            lambda: sum(elsewhere in line for line in log.lines) == 7,  # type: ignore[attr-defined]
            20,
            "seven notifiers finding the alert claimed",
        )
        wait_until(lambda: hook.delivered(), 20, "the one alert")
        for notifier in notifiers:  # and again: nothing more
            notifier.tick()
        wait_until(lambda: not any(n._claiming.is_set() for n in notifiers), 10, "the claims")
    finally:
        for sender in senders:
            sender.close()
    assert len(hook.posts) == 1
    assert sorted(Path(cache).parent.glob("jupyter_lease.sent-*.json"))


# -- doctor ------------------------------------------------------------------------------------


def test_doctor_shows_each_channel_by_its_scheme_only(simulator, tmp_path):
    pytest.importorskip("apprise")  # "ok" needs the extra (Python ≥ 3.8): without it, below
    url = f"json://bob:{SECRET}@127.0.0.1:9/{SECRET}"
    env = {
        "JUPYTER_LEASE_NOTIFY": f"{url} ntfy://{SECRET}-topic",
        "JUPYTER_CONFIG_DIR": str(tmp_path),
    }
    proc = run(["doctor", "--json"], simulator, env)
    assert proc.returncode == 0, proc.stderr
    section = [s for s in json.loads(proc.stdout)["sections"] if s["title"] == TITLE][0]
    assert [(r["value"], r["source"], r["status"]) for r in section["rows"]] == [
        ("json://…", "$JUPYTER_LEASE_NOTIFY", "ok"),
        ("ntfy://…", "$JUPYTER_LEASE_NOTIFY", "ok"),
    ]
    text = run(["doctor"], simulator, env).stdout
    assert "json://…" in text
    assert_no_secret(proc.stdout, proc.stderr, text, secrets=[SECRET])


def test_doctor_without_channels_says_where_they_would_come_from(tmp_path):
    (row,) = notify_section((), {"JUPYTER_CONFIG_DIR": str(tmp_path)}).rows
    assert row.status == "skipped" and "JUPYTER_LEASE_NOTIFY" in row.source
    assert str(tmp_path / "jupyter_lease" / "notify.json") in row.source


def test_without_apprise_configured_channels_say_to_install_the_extra(monkeypatch, log):
    # As in an environment without the extra: ``import apprise`` finds nothing.
    monkeypatch.setitem(sys.modules, "apprise", None)
    env = {"JUPYTER_LEASE_NOTIFY": f"json://h/{SECRET}", "JUPYTER_CONFIG_DIR": "/nonexistent"}
    rows = notify_section((), env).rows
    assert [(r.value, r.status, r.hint) for r in rows] == [("json://…", "missing", INSTALL_LINE)]
    sender = Sender(load_channels((), env), log)
    try:
        sender.submit(ALERT)  # nothing to send with: not even a try
        assert not sender.active
        assert sender.status() == {
            "ok": False,
            "error": INSTALL_LINE,
            "at": None,
            "channels": ["json://…"],
        }
    finally:
        sender.close()
    assert "pip install 'jupyter_lease[notify]'" in INSTALL_LINE


def test_the_stop_is_not_undone_by_the_last_timed_reading_still_in_the_cache_file(log):
    # After this server saw the stop, the cache file still holds the last timed reading (stale):
    # the later read wins, as on the page, and the stop stays due.
    sender = sender_for("json://127.0.0.1:9/x", log)
    notifier = Notifier(sender, lambda: None, (600.0,), clock=lambda: 2e9, logger=log)
    timed = Reading(kind="timed", deadline=2e9 - 5, read_at=2e9 - 60)
    stopped = Reading(kind="stopped", read_at=2e9 - 2, error="not running")
    for reading in (timed, stopped, timed.with_error("not running")):
        notifier.observe({"reading": reading.to_json()})
    due = notifier._due(SentRecord("modelarts:abc@sim"))
    assert [a.key for a in due] == [f"stopped:{int((2e9 - 5) * 1000)}"]
    sender.close()


def test_the_servers_doctor_has_the_last_send_in_one_row():
    from jupyter_lease.doctor.notify import with_notify
    from jupyter_lease.doctor.report import Report

    failed = {"ok": False, "error": "threshold alert not delivered: json://… HTTP 500", "at": 1}
    env = {"JUPYTER_LEASE_NOTIFY": "json://h/x", "JUPYTER_CONFIG_DIR": "/nonexistent"}
    rows = with_notify(Report(()), (), env, failed).section(TITLE).rows
    assert [(r.setting, r.value, r.status, r.hint) for r in rows][-1] == (
        "last alert",
        "not sent",
        "failed",
        failed["error"],
    )
    never = {"ok": True, "error": None, "at": None}
    assert [r.setting for r in with_notify(Report(()), (), env, never).section(TITLE).rows] == [
        "alert channel"
    ]
