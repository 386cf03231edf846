"""``doctor`` beyond ModelArts: which provider was chosen and why (a section in front of every
report), and for Slurm and JupyterHub the whole report, from their ``discover`` facts (Slurm:
the job, the commands, the version, ``--signal``; JupyterHub: the Hub's variables and the
culler's settings the site passed) as they are. No network, no raising.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Optional, Sequence

from ..slurm.discover import Fact, discover
from ..watch.providers import Choice
from .report import (
    FAILED,
    MISSING,
    OK,
    SKIPPED,
    WARNING,
    DoctorOptions,
    Report,
    Row,
    Section,
    _clean,
    run_doctor,
)

__all__ = ["doctor_for", "hub_report", "provider_section", "slurm_report", "with_provider"]

SIGNAL_HINT = "add '#SBATCH --signal=B:USR1@300' so the job itself is told 5 min before its end"


def provider_section(choice: Choice) -> Section:
    return Section("Provider", (Row("provider", choice.provider, _clean(choice.why), OK),))


def with_provider(report: Report, choice: Choice) -> Report:
    """``report`` with the provider section first."""
    return replace(report, sections=(provider_section(choice),) + report.sections)


def doctor_for(
    choice: Choice,
    options: DoctorOptions,
    check: Optional[str] = None,
    notify_urls: Sequence[str] = (),
    notify_status: Optional[Mapping[str, Any]] = None,
) -> Report:
    """The report for the provider ``choice`` names, as the CLI and the server give it:
    Slurm's facts for a Slurm job, the Hub's and the culler's settings in a JupyterHub server,
    else ModelArts' discovery and credentials. ``check``: what
    reading the lease once gave (``--check``), in the chosen provider's words. The alert
    channels (``notify_urls``: the server's ``c.JupyterLease.notify_urls``; ``notify_status``:
    its last send) come last."""
    from .notify import with_notify

    if choice.provider == "slurm":
        report = slurm_report(choice, options.environ, check=check)
    elif choice.provider == "jupyterhub":
        report = hub_report(choice, options.environ, check=check)
    else:
        report = with_provider(run_doctor(replace(options, endpoint_check=check)), choice)
    return with_notify(report, notify_urls, options.environ, notify_status)


def slurm_report(
    choice: Choice,
    environ: Optional[Mapping[str, str]] = None,
    check: Optional[str] = None,
    facts: Optional[Sequence[Fact]] = None,
) -> Report:
    """The provider, the Slurm facts and (``check``) what reading the walltime gave."""
    found = list(discover(environ) if facts is None else facts)
    rows = tuple(_fact_row(fact) for fact in found)
    sections = [provider_section(choice), Section("Slurm", rows)]
    if check is not None:
        status = FAILED if "failed" in check.lower() else OK
        sections.append(Section("Connectivity", (Row("walltime", _clean(check), "", status),)))
    ready = all(row.status != MISSING for row in rows) and (check is None or status == OK)
    return Report(tuple(sections), (), ready)


def hub_report(
    choice: Choice,
    environ: Optional[Mapping[str, str]] = None,
    check: Optional[str] = None,
) -> Report:
    """The provider, the JupyterHub facts and (``check``) what reading the Hub gave."""
    from ..jupyterhub.discover import discover as hub_discover

    rows = tuple(_hub_row(fact) for fact in hub_discover(environ))
    sections = [provider_section(choice), Section("JupyterHub", rows)]
    status = OK
    if check is not None:
        status = FAILED if "failed" in check.lower() else OK
        sections.append(Section("Connectivity", (Row("hub", _clean(check), "", status),)))
    ready = all(row.status != MISSING for row in rows) and status == OK
    return Report(tuple(sections), (), ready)


def _hub_row(fact: Fact) -> Row:
    value, how = _clean(fact.value), _clean(fact.how)
    timer = any(fact.what == name for name in ("JOB_START_TIME", "JOB_RUN_TIME"))
    if fact.what == "culler --timeout" and fact.value == "not set":
        return Row(fact.what, value, how, MISSING, "without it no idle-cull time is shown")
    if fact.value in ("not set", "unreadable") and fact.what.startswith("culler"):
        return Row(fact.what, value, how, SKIPPED if fact.value == "not set" else WARNING)
    if fact.value == "not set" and not timer:
        return Row(fact.what, value, how, MISSING, "run inside a JupyterHub single-user server")
    return Row(fact.what, value, how, OK)


def _fact_row(fact: Fact) -> Row:
    value, how = _clean(fact.value), _clean(fact.how)
    if fact.what == "Slurm job" and fact.value == "none":
        return Row(fact.what, value, how, MISSING, "run inside a job (sbatch, srun, salloc)")
    if fact.what == "squeue" and fact.value == "not found":
        return Row(fact.what, value, how, MISSING, "install Slurm's client commands")
    if fact.value in ("not found", "unknown"):
        return Row(fact.what, value, how, WARNING)
    if fact.what == "--signal" and fact.value.startswith("not "):
        return Row(fact.what, value, how, SKIPPED, SIGNAL_HINT)
    return Row(fact.what, value, how, OK)
