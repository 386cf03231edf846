"""The doctor's "Server-side alerts" section: which channels are configured, shown by scheme
only (``json://…``: an Apprise URL carries its secret), where each comes from, and whether the
``notify`` extra is installed to send them (docs/server-alerts.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Optional, Sequence

from ..notify.channels import CONFIG, ENV, apprise_missing, load_channels, user_file
from .report import FAILED, MISSING, OK, SKIPPED, WARNING, Report, Row, Section

__all__ = ["TITLE", "notify_section", "with_notify"]

TITLE = "Server-side alerts"


def notify_section(
    config_urls: Sequence[str] = (),
    environ: Optional[Mapping[str, str]] = None,
    path: Optional[str] = None,
) -> Section:
    """One row per channel (scheme, origin, ok or the install line), one per problem."""
    file_path = path or user_file(environ)
    found = load_channels(config_urls, environ, file_path)
    missing = apprise_missing() if found.channels else None
    rows = [
        Row("alert channel", c.masked, c.origin, MISSING if missing else OK, missing or "")
        for c in found.channels
    ]
    rows += [Row("alert channel", "", "", WARNING, problem) for problem in found.problems]
    if not rows:
        where = f"{CONFIG}, ${ENV} or {file_path}"
        rows = [Row("alert channels", "none", where, SKIPPED, "see docs/server-alerts.md")]
    return Section(TITLE, tuple(rows))


def with_notify(
    report: Report,
    config_urls: Sequence[str] = (),
    environ: Optional[Mapping[str, str]] = None,
    status: Optional[Mapping[str, Any]] = None,
) -> Report:
    """``report`` with the alerts section last (it never changes whether the report is ok);
    ``status``: the server's last send (the lease view's ``notify``), as one more row."""
    section = notify_section(config_urls, environ)
    if status is not None and status.get("at") is not None:
        ok = bool(status.get("ok"))
        row = Row("last alert", "sent" if ok else "not sent", "", OK if ok else FAILED)
        section = replace(
            section, rows=section.rows + (replace(row, hint=str(status.get("error") or "")),)
        )
    return replace(report, sections=report.sections + (section,))
