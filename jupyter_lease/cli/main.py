"""``jupyter lease …`` / ``jupyter-lease …``: status, extend, doctor, watch, keep-alive, enable,
simulate, demo.

Exit codes: 0 ok, 1 the API (or the network) failed, 2 bad usage or configuration.
Every failure is one line on stderr; a traceback never reaches the user.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import replace
from typing import Any, Callable, Dict, List, NoReturn, Optional, TextIO

from .._errors import APIError, LeaseError, UsageError, scrub
from ..core import DEFAULT_WARN_AT
from . import neutral
from .demo import DEMO_LEASE

__all__ = ["main"]

EXIT_OK, EXIT_API, EXIT_USAGE = 0, 1, 2
PROG = "jupyter lease"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _location_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where (default: discovered, see 'jupyter lease doctor')")
    group.add_argument("--notebook-id", help="notebook instance id")
    group.add_argument("--project-id", help="project id")
    group.add_argument("--region", help="region, e.g. cn-north-4")
    group.add_argument("--endpoint", help="ModelArts endpoint URL")
    group.add_argument(
        "--provider",
        help="modelarts, jupyterhub, slurm or auto (default: $JUPYTER_LEASE_PROVIDER, else auto)",
    )


def build_parser() -> argparse.ArgumentParser:
    description = "Watch and extend the lease of the machine under a notebook (ModelArts, Slurm)."
    parser = _Parser(prog=PROG, description=description)
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"jupyter_lease {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _lease_commands(sub)
    _tool_commands(sub)
    return parser


def _lease_commands(sub: Any) -> None:
    """The commands on this machine's lease: status, extend, doctor, watch, keep-alive."""
    p = sub.add_parser("status", help="show the time left (default command)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    _location_options(p)

    p = sub.add_parser("extend", help="renew the lease: keep running DURATION from now (1h-72h)")
    p.add_argument("duration", help="e.g. 2h, 90m, 1d")
    p.add_argument("--json", action="store_true", help="print the new status as JSON")
    p.add_argument(
        "--force",
        action="store_true",
        help="extend even an IDLE lease or one with auto-stop off (it becomes a timed stop)",
    )
    _location_options(p)

    p = sub.add_parser("doctor", help="explain what was discovered and which credentials are used")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--check", action="store_true", help="also call ShowLease once")
    _location_options(p)

    p = sub.add_parser("watch", help="a live countdown line that warns at thresholds")
    p.add_argument(
        "--warn", default=DEFAULT_WARN_AT, help="warning thresholds (default %(default)s)"
    )
    p.add_argument("--for", dest="for_", metavar="DURATION", help="stop watching after this long")
    _location_options(p)

    p = sub.add_parser("keep-alive", help="keep the instance alive while a kernel is busy")
    p.add_argument("action", choices=["on", "off", "status"])
    cap = p.add_mutually_exclusive_group()
    cap.add_argument("--until", metavar="HH:MM", help="with on: no renewal past this time")
    cap.add_argument("--for", dest="for_", metavar="DURATION", help="with on: at most this long")
    p.add_argument("--json", action="store_true", help="print the server's JSON")
    _location_options(p)


def _tool_commands(sub: Any) -> None:
    """The commands that need no lease: setting up the server extension, the demo, the
    simulator."""
    p = sub.add_parser("enable", help="turn the server extension on (user or sys-prefix config)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--user", action="store_true", help="in the user's Jupyter config dir (default)"
    )
    where.add_argument("--sys-prefix", action="store_true", help="in this Python's etc/jupyter")

    p = sub.add_parser("demo", help="the demo notebook against a simulator with a short lease")
    p.add_argument("--execute", action="store_true", help="run it headless in a real kernel")
    p.add_argument("--lease", help=f"initial lease (default {DEMO_LEASE}; 100s with --execute)")
    p.add_argument("--output", help="with --execute: where to save the executed notebook")
    p.add_argument(
        "--port", type=int, default=0, help="JupyterLab's port (default 0: any free port)"
    )
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")

    p = sub.add_parser("simulate", help="run a local ModelArts simulator (no cloud account needed)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument("--lease", default="2h", help="initial lease (default %(default)s)")
    p.add_argument("--type", default="TIMING", choices=["TIMING", "IDLE", "timing", "idle"])
    p.add_argument("--notebook-id", help="notebook id to simulate")
    p.add_argument("--project-id", help="project id to simulate")
    p.add_argument("--ak", help="access key the simulator accepts")
    p.add_argument("--sk", help="secret key the simulator accepts")
    p.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")


def main(argv: Optional[List[str]] = None, *, stdout: TextIO = None, stderr: TextIO = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        argv = _negative_durations_are_values(list(sys.argv[1:] if argv is None else argv))
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:  # bare `jupyter lease` means status
            args = parser.parse_args(["status", *argv])
        handler = _COMMANDS[args.command]
        return handler(args, out) or EXIT_OK
    except KeyboardInterrupt:
        return EXIT_OK
    except UsageError as exc:
        print(f"{PROG}: error: {scrub(str(exc))}", file=err)
        return EXIT_USAGE
    except APIError as exc:
        print(f"{PROG}: error: {scrub(str(exc))}", file=err)
        return EXIT_API
    except LeaseError as exc:
        print(f"{PROG}: error: {scrub(str(exc))}", file=err)
        return EXIT_API
    except Exception as exc:  # a bug: still one line, as promised, never a traceback
        print(f"{PROG}: error: unexpected {type(exc).__name__} (a bug in jupyter_lease)", file=err)
        return EXIT_API


def _negative_durations_are_values(argv: List[str]) -> List[str]:
    """``extend -5m`` would read as an unknown option ``-5`` — move such a value after ``--``
    so it reaches the duration parser, which says what is wrong with it."""
    if "extend" not in argv:
        return argv
    negative = [a for a in argv if re.match(r"-\d", a)]
    if not negative:
        return argv
    return [a for a in argv if a not in negative] + ["--", *negative]


def _explicit(args: argparse.Namespace) -> Dict[str, Optional[str]]:
    return {
        name: getattr(args, name, None)
        for name in ("notebook_id", "project_id", "region", "endpoint")
    }


def _client(args: argparse.Namespace):
    """The source every process uses (:func:`~..watch.sources.build_source`): behind the
    shared cache, so `jupyter lease watch` and a dozen kernels make one upstream read."""
    from ..watch.sources import build_source

    return build_source(_explicit(args), provider=args.provider)


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    with _client(args) as client:
        return neutral.status(client, args, out, _keep_alive_summary)


def _keep_alive_summary(client: Any) -> Optional[Dict]:
    """The policy from the running server of this lease, or None when none answers."""
    from ..server.busy_client import answer, find_server
    from ..watch.sources import lease_identity

    try:
        return answer(find_server(lease=lease_identity(client)), "GET")
    except LeaseError:
        return None


def cmd_keep_alive(args: argparse.Namespace, out: TextIO) -> int:
    """The policy of this lease, through its running server; ``off`` without one edits the
    lease's record (a server that starts, or runs, picks it up)."""
    from ..server.busy_client import answer, find_server
    from ..server.busy_policy import policy_line
    from ..watch.sources import lease_identity

    if args.action != "on" and (args.until or args.for_):
        raise UsageError("--until and --for go with 'keep-alive on'")
    body: Dict[str, object] = {"on": args.action == "on", "via": "cli"}
    if args.until:
        body["until"] = _until(args.until)  # an instant: HH:MM where the person is
    if args.for_:
        body["for"] = args.for_
    source = _client(args)
    lease = lease_identity(source)
    try:
        link = find_server(lease=lease)
    except LeaseError:
        if args.action != "off":
            raise
        return _off_without_server(source, lease, out)
    view = answer(link, "GET") if args.action == "status" else answer(link, "POST", "", body)
    if args.json:
        print(json.dumps(view, indent=2), file=out)
        return EXIT_OK
    print(f"Keep alive while busy: {policy_line(view)}", file=out)
    if view.get("on"):
        print(f"Now: {view.get('status')}", file=out)
    return EXIT_OK


def _until(text: str) -> float:
    """``--until HH:MM``: the next such time on this machine's clock, in its time zone."""
    import time

    from ..server.busy_policy import parse_until

    try:
        return parse_until(text, time.time())
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _off_without_server(source: Any, lease: str, out: TextIO) -> int:
    import os

    from ..server.busy_state import StateFile

    store = StateFile(lease, os.path.dirname(source.path))
    store.update(lambda s: replace(s, on=False, by="cli", note=""))
    print(f"Keep alive while busy: off (no running Jupyter server serves {lease}; saved)", file=out)
    return EXIT_OK


def cmd_extend(args: argparse.Namespace, out: TextIO) -> int:
    from ..core.duration import parse_duration

    parse_duration(args.duration)  # bad input fails before any command or network traffic
    with _client(args) as client:
        return neutral.extend(client, args, out)


def cmd_doctor(args: argparse.Namespace, out: TextIO) -> int:
    from ..doctor.provider import doctor_for
    from ..doctor.report import DoctorOptions
    from ..watch.providers import choose

    choice = choose(args.provider, _explicit(args))  # a bad provider name: one line, exit 2
    check = neutral.check(args) if args.check else None
    report = doctor_for(choice, DoctorOptions(**_explicit(args)), check)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2), file=out)
    else:
        print(report.to_text(), file=out)
    if args.check and not report.ok:  # scripts gate on it: NOT READY is a failure
        raise APIError("doctor --check: NOT READY (the report above says what is missing)")
    return EXIT_OK


def cmd_watch(args: argparse.Namespace, out: TextIO) -> int:
    from traitlets import TraitError

    from ..core.duration import parse_duration
    from ..kernel.terminal import watch_in_terminal
    from ..settings import JupyterLease, resolve

    try:  # the thresholds typed and resolved as the kernels' and the server's are
        thresholds = resolve(JupyterLease(warn_at=args.warn)).warn_at
    except TraitError as exc:
        raise UsageError(f"--warn: {exc}") from None
    limit = parse_duration(args.for_).total_seconds() if args.for_ else None
    client = _client(args)
    return watch_in_terminal(client, thresholds, out=out, max_seconds=limit)


def cmd_enable(args: argparse.Namespace, out: TextIO) -> int:
    from .enable import enable

    return enable("sys-prefix" if args.sys_prefix else "user", out)


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from ..core.duration import parse_duration
    from .demo import run_demo

    lease = parse_duration(args.lease or ("100s" if args.execute else DEMO_LEASE))
    return run_demo(
        execute=args.execute,
        lease_seconds=lease.total_seconds(),
        output=args.output,
        port=args.port,
        open_browser=not args.no_browser,
        out=out,
    )


def cmd_simulate(args: argparse.Namespace, out: TextIO) -> int:
    from ..core.duration import parse_duration
    from ..simulator.app import Simulator

    options = {
        key: value
        for key, value in (
            ("notebook_id", args.notebook_id),
            ("project_id", args.project_id),
            ("ak", args.ak),
            ("sk", args.sk),
        )
        if value
    }
    sim = Simulator(
        args.host,
        args.port,
        lease=parse_duration(args.lease).total_seconds(),
        lease_type=args.type.upper(),
        allow_remote=args.allow_remote,
        **options,
    )
    with sim:
        print("# ModelArts simulator running; point a kernel or the CLI at it with:", file=out)
        for line in sim.export_lines():
            print(line, file=out)
        print("# Ctrl-C stops it.", file=out, flush=True)
        sim.wait()
    return EXIT_OK


_COMMANDS: Dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "status": cmd_status,
    "extend": cmd_extend,
    "doctor": cmd_doctor,
    "watch": cmd_watch,
    "simulate": cmd_simulate,
    "demo": cmd_demo,
    "keep-alive": cmd_keep_alive,
    "enable": cmd_enable,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
