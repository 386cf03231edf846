"""``jupyter lease doctor`` / ``%lease doctor``: what was discovered, from where, and why.

:func:`doctor_report` turns a :class:`~..modelarts.discovery.Location` and the credential
records into a :class:`Report` — plain data with text, HTML and JSON renderings.  It makes no
network calls itself; a connectivity check result may be passed in.  :func:`run_doctor` runs
discovery and credential resolution without raising and reports whatever happened.

Every cell is run through :func:`~jupyter_lease._errors.scrub` (credential details are masked
at the source already; this is the second belt).
"""

from __future__ import annotations

import html
import os
import sys
import time
from dataclasses import astuple, dataclass, replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .._errors import LeaseError, scrub
from ..core.chain import Outcome, Record
from ..core.reading import clip_words
from ..modelarts.confirm import remembered
from ..modelarts.credentials import Resolution, try_resolve_credentials
from ..modelarts.discovery import ENV_FOR, LABELS, Found, Location, discover
from ..modelarts.env import memoize_session_factory
from .versions import ENABLE_HINT, ServerVersions, compatibility, kernel_versions, probe_server

__all__ = ["STATUSES", "DoctorOptions", "Report", "Row", "Section", "doctor_report", "run_doctor"]

# Record.status is one of them.
STATUSES = ("ok", "unconfirmed", "warning", "missing", "skipped", "failed")
OK, UNCONFIRMED, WARNING, MISSING, SKIPPED, FAILED = STATUSES

_TEXT_WIDTH = 60  # longest cell in the terminal table; HTML and JSON keep everything


@dataclass(frozen=True)
class Row:
    setting: str
    value: str
    source: str
    status: str
    hint: str = ""

    def to_dict(self) -> Dict[str, str]:
        return {
            "setting": self.setting,
            "value": self.value,
            "source": self.source,
            "status": self.status,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class Section:
    title: str
    rows: Tuple[Row, ...]


@dataclass(frozen=True)
class Report:
    sections: Tuple[Section, ...]
    unconfirmed: Tuple[str, ...] = ()
    ok: bool = False

    def section(self, title: str) -> Section:
        for section in self.sections:
            if section.title == title:
                return section
        raise KeyError(title)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-safe (``--json``)."""
        return {
            "ok": self.ok,
            "sections": [
                {"title": s.title, "rows": [r.to_dict() for r in s.rows]} for s in self.sections
            ],
            "unconfirmed": list(self.unconfirmed),
        }

    def to_text(self) -> str:
        """Aligned columns per section, then the footnote."""
        lines = [f"jupyter_lease doctor: {'ready' if self.ok else 'NOT READY'}"]
        for section in self.sections:
            lines += ["", section.title]
            lines += _table(
                [("setting", "value", "source", "status", "hint")]
                + [(r.setting, r.value, r.source, r.status, r.hint) for r in section.rows]
            )
        if self.unconfirmed:
            lines += ["", "Unconfirmed (verify on your ModelArts instance; override if wrong):"]
            lines += [f"  * {fact}" for fact in self.unconfirmed]
        return "\n".join(lines)

    def to_html(self) -> str:
        """A small escaped table for the notebook."""
        esc = html.escape
        out = [
            '<div class="jupyter-lease-doctor">',
            f"<p><b>jupyter_lease doctor</b>: {'ready' if self.ok else 'not ready'}</p>",
        ]
        for section in self.sections:
            out.append(f"<table><caption>{esc(section.title)}</caption>")
            out.append(
                "<tr><th>setting</th><th>value</th><th>source</th><th>status</th><th>hint</th></tr>"
            )
            for r in section.rows:
                cells = (r.setting, r.value, r.source, r.status, r.hint)
                tds = "".join(f"<td>{esc(c)}</td>" for c in cells)
                out.append(f'<tr class="jl-{esc(r.status)}">{tds}</tr>')
            out.append("</table>")
        if self.unconfirmed:
            items = "".join(f"<li>{esc(fact)}</li>" for fact in self.unconfirmed)
            out.append(f"<p>Unconfirmed:</p><ul>{items}</ul>")
        out.append("</div>")
        return "\n".join(out)

    def _repr_html_(self) -> str:  # IPython displays the table when the report is returned
        return self.to_html()

    def __str__(self) -> str:
        return self.to_text()


def _clip(text: str) -> str:
    return clip_words(text, _TEXT_WIDTH)  # never mid-word: HTML and JSON keep it whole


def _table(rows: Sequence[Tuple[str, ...]]) -> List[str]:
    # The last column (the hint) is never clipped: it is the part a person must read whole.
    clipped = [tuple(_clip(c) for c in row[:-1]) + row[-1:] for row in rows]
    widths = [max(len(row[i]) for row in clipped) for i in range(len(clipped[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in clipped]


def _clean(text: Optional[str], secrets: Sequence[Optional[str]] = ()) -> str:
    """One line, known secrets removed, anything key-shaped scrubbed (env var names survive)."""
    return scrub(" ".join(str(text or "").split()), secrets)


# ---------------------------------------------------------------------------------------------
# Rows


def _summary_row(found: Found, location: Location) -> Row:
    label = LABELS[found.name]
    if not found.ok:
        optional = found.name == "region" and location.endpoint.ok
        hint = "optional: the endpoint is known" if optional else f"set {ENV_FOR[found.name]}"
        return Row(label, "", "not found", SKIPPED if optional else MISSING, hint)
    if found.warning:
        status, hint = WARNING, f"{found.warning}; set {ENV_FOR[found.name]} to override"
    elif found.unconfirmed:
        status, hint = UNCONFIRMED, f"check it; set {ENV_FOR[found.name]} to override"
    else:
        status, hint = OK, ""
    source = f"{found.source} (unconfirmed)" if found.unconfirmed else found.source
    done = remembered(location) if found.name == "notebook_id" else None
    if done is not None:  # this process asked ModelArts (modelarts/confirm.py)
        status, hint = (OK if done.confirmed else UNCONFIRMED), done.line()
    return Row(label, str(found.value), _clean(source), status, hint)


def _record_row(setting: str, record: Record) -> Row:
    """A source tried, as the chain recorded it."""
    return Row(setting, record.value, _clean(record.label), record.status, record.reason)


def _credentials_summary(records: Sequence[Record], error: Optional[str]) -> Row:
    for record in records:
        if record.found:
            return _record_row("credentials", record)
    hint = error or "set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK"
    return Row("credentials", "", "not found", MISSING, _clean(hint))


def _unconfirmed_facts(location: Location, records: Sequence[Record]) -> Tuple[str, ...]:
    """The unconfirmed facts this report *relies on*: winning sources only, in order."""
    facts: List[str] = [f.unconfirmed for f in location.fields() if f.ok and f.unconfirmed]
    facts += [r.unconfirmed for r in records if r.found and r.unconfirmed]
    return tuple(dict.fromkeys(facts))  # ordered de-duplication


def _versions_section(
    kernel: Mapping[str, Optional[str]], server: Optional[ServerVersions]
) -> Section:
    """What runs here and on the server, then one line per known-bad combination."""
    here = "this Python"  # the kernel in %lease doctor; the CLI's environment in a terminal
    rows = [Row("Python", f"{kernel.get('Python')} ({sys.executable})", here, OK)]
    for label, version in kernel.items():
        if label != "Python":
            status = OK if version else (SKIPPED if label in _OPTIONAL_HERE else MISSING)
            rows.append(Row(label, version or "", here, status, "" if version else "not installed"))
    rows += _server_rows(server)
    problems = compatibility(kernel, server)
    rows += [Row("compatibility", "", "", status, _clean(line)) for status, line in problems]
    if not problems:
        rows.append(Row("compatibility", "no known problem", "", OK))
    return Section("Versions", tuple(rows))


# Not dependencies of jupyter_lease: a terminal (the CLI) has no reason to have them.
_OPTIONAL_HERE = ("ipykernel", "jupyter_client")


def _server_rows(server: Optional[ServerVersions]) -> List[Row]:
    if server is None:
        return [Row("Jupyter server", "", "no running server found (jpserver-*.json)", SKIPPED)]
    if server.error:
        return [Row("Jupyter server", "", server.url, WARNING, _clean(server.error))]
    front_end = server.widgets_front_end
    manager = f"jupyterlab-manager {server.widgets_manager}"
    widgets = f"ipywidgets {front_end} ({manager})" if front_end else ""
    lease = {True: "enabled", False: "not loaded", None: ""}[server.lease_extension]
    hint = ENABLE_HINT if server.lease_extension is False else ""
    lease_status = OK if server.lease_extension else WARNING
    return [
        Row("jupyter_server", server.jupyter_server or "", server.url, OK),
        Row("server app", server.app or "", server.url, OK if server.app else SKIPPED),
        Row("widget front end", widgets, server.url, OK if widgets else SKIPPED),
        Row("lease server extension", lease, server.url, lease_status, hint),
    ]


def _connectivity_status(check: str) -> str:
    return FAILED if "fail" in check.lower() or "error" in check.lower() else OK


# ---------------------------------------------------------------------------------------------
# Public API


def doctor_report(
    location: Location,
    credential_records: Union[Sequence[Record], Resolution],
    *,
    endpoint_check: Optional[str] = None,
    errors: Sequence[str] = (),
    kernel: Optional[Mapping[str, Optional[str]]] = None,
    server: Optional[ServerVersions] = None,
) -> Report:
    """Build the report. No I/O: ``endpoint_check`` (a connectivity result), ``kernel``
    (:func:`kernel_versions`) and ``server`` (:func:`probe_server`) come from the caller; without
    ``kernel`` there is no Versions section."""
    credential_error: Optional[str] = None
    if isinstance(credential_records, Resolution):
        if credential_records.error is not None:
            credential_error = str(credential_records.error)
        records: Sequence[Record] = credential_records.attempts
    else:
        records = credential_records
    sections = [
        Section(
            "Summary",
            tuple(_summary_row(f, location) for f in location.fields())
            + (_credentials_summary(records, credential_error),),
        ),
        Section(
            "Discovery sources tried",
            tuple(_record_row(LABELS[f.name], r) for f in location.fields() for r in f.tried),
        ),
        Section("Credential sources tried", tuple(_record_row("credentials", r) for r in records)),
    ]
    if endpoint_check is not None:
        row = Row("ShowLease", _clean(endpoint_check), "", _connectivity_status(endpoint_check))
        sections.append(Section("Connectivity", (row,)))
    if kernel is not None:
        sections.append(_versions_section(kernel, server))
    if errors:
        sections.append(
            Section("Errors", tuple(Row("error", "", "", FAILED, _clean(e)) for e in errors))
        )
    found_credentials = any(r.found for r in records)
    ready = (
        not location.missing()
        and found_credentials
        and not errors
        and (endpoint_check is None or _connectivity_status(endpoint_check) == OK)
    )
    return Report(tuple(sections), _unconfirmed_facts(location, records), ready)


def _empty_location(error: str) -> Location:
    failed = (Record("discovery", Outcome.FAILED, error),)
    return Location(*(Found(name, None, "", failed) for name in LABELS))


@dataclass(frozen=True)
class DoctorOptions:
    """What ``doctor`` is given: the settings a person passed (as for :func:`discover` and
    :func:`try_resolve_credentials`), a connectivity result, and where to look (tests)."""

    environ: Optional[Mapping[str, str]] = None
    notebook_id: Optional[str] = None
    project_id: Optional[str] = None
    region: Optional[str] = None
    endpoint: Optional[str] = None
    ak: Optional[str] = None
    sk: Optional[str] = None
    security_token: Optional[str] = None
    auth_token: Optional[str] = None
    endpoint_check: Optional[str] = None
    runtime_dir: Optional[str] = None
    hostname: Optional[str] = None
    session_factory: Optional[Callable[[], Any]] = None
    session: Any = None  # the requests.Session for IAM and metadata calls
    use_metadata: Optional[bool] = None
    clock: Callable[[], float] = time.time

    def given_secrets(self) -> Tuple[Optional[str], ...]:
        return (self.ak, self.sk, self.security_token, self.auth_token)


def run_doctor(options: Optional[DoctorOptions] = None) -> Report:
    """Discovery + credential resolution, never raising: problems become rows."""
    opts = options or DoctorOptions()
    env: Mapping[str, str] = os.environ if opts.environ is None else opts.environ
    factory = memoize_session_factory(opts.session_factory)  # one Session() for both halves
    errors: List[str] = []
    location = _location(opts, env, factory, errors)
    resolution = _resolution(opts, env, factory, location)
    if resolution.error is not None:
        errors.append(str(resolution.error))
    secrets = opts.given_secrets() + resolution.secrets
    report = doctor_report(
        location,
        resolution,
        endpoint_check=opts.endpoint_check,
        errors=[_clean(e, secrets) for e in errors],
        kernel=kernel_versions(),
        server=probe_server(opts.runtime_dir, env),
    )
    return _without(report, secrets)


def _location(
    opts: DoctorOptions, env: Mapping[str, str], factory: Callable[[], Any], errors: List[str]
) -> Location:
    """Discovery without raising; what went wrong is appended to ``errors``."""
    try:
        location = discover(
            notebook_id=opts.notebook_id,
            project_id=opts.project_id,
            region=opts.region,
            endpoint=opts.endpoint,
            environ=env,
            runtime_dir=opts.runtime_dir,
            hostname=opts.hostname,
            session_factory=factory,
            strict=False,
        )
    except Exception as exc:  # doctor must always produce a report
        errors.append(_error_text(exc))
        return _empty_location(errors[-1])
    try:
        location.require()
    except LeaseError as exc:
        errors.append(str(exc))
    return location


def _resolution(
    opts: DoctorOptions, env: Mapping[str, str], factory: Callable[[], Any], location: Location
) -> Resolution:
    """The credential chain without raising, scoped by what discovery found."""
    try:
        return try_resolve_credentials(
            ak=opts.ak,
            sk=opts.sk,
            security_token=opts.security_token,
            auth_token=opts.auth_token,
            environ=env,
            region=location.region.value,
            project_id=location.project_id.value,
            session=opts.session,
            session_factory=factory,
            use_metadata=opts.use_metadata,
            clock=opts.clock,
        )
    except Exception as exc:
        return Resolution(None, (Record("credentials", Outcome.FAILED, _error_text(exc)),))


def _without(report: Report, secrets: Sequence[Optional[str]]) -> Report:
    """The report with the secrets in use removed from every cell: discovered values and the
    connectivity check are outside text too."""
    sections = tuple(
        Section(s.title, tuple(Row(*(_clean(c, secrets) for c in astuple(r))) for r in s.rows))
        for s in report.sections
    )
    return replace(report, sections=sections)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, LeaseError):
        return str(exc)
    return f"{type(exc).__name__}: {scrub(str(exc))}"
