"""The ``%lease`` commands: argument parsing, the runtime, the watcher, the client, the views.

Loaded by the first ``%lease``, never by ``%load_ext`` (``magic`` keeps loading cheap).
"""

from __future__ import annotations

import contextlib
from typing import Any

from IPython.core.magic_arguments import MagicArgumentParser

from .._errors import LeaseError, UsageError, scrub
from ..core.schedule import parse_thresholds
from ..i18n import _
from .frontend import Frontend, frontend_of
from .magic import ARGUMENTS, PREFIX, say

__all__ = ["run"]


def _parser() -> MagicArgumentParser:
    # IPython's parser for magics: a bad argument is a one-line UsageError, never an exit.
    parser = MagicArgumentParser(prog="lease")
    for name, spec in ARGUMENTS:
        parser.add_argument(name, **spec)
    return parser


_PARSER = _parser()


def run(magics: Any, line: str) -> Any:
    """``%lease LINE`` for the magics object that received it."""
    args = _PARSER.parse_argstring(line)
    command = _COMMANDS.get(args.command)
    if command is None:
        say(f"unknown command {args.command!r}; use one of: {', '.join(_COMMANDS)}")
        return None
    try:
        if args.force and args.command != "extend":
            raise UsageError("--force goes with extend only, e.g. %lease extend 2h --force")
        return command(magics, args)
    except LeaseError as exc:
        say(scrub(str(exc)))
    return None


def _do_status(magics: Any, args: Any) -> None:
    _no_duration(args, "status")
    import time

    from ..core.reading import failure

    runtime = magics.runtime
    watcher = runtime.watcher() if runtime.watching else None
    source = runtime.source()
    with source.fresh():  # asked explicitly: read upstream now, not the shared cache
        reading = watcher.poll().reading if watcher is not None else source.read()
    _sync_widgets(magics)  # the reading just read, as read
    if (reading.stale and reading.read_at is None) or (reading.kind == "stopped" and reading.error):
        raise failure(reading)  # nothing known at all, or "not running": its one line
    if reading.stale:
        say(f"the lease could not be refreshed ({reading.error}); last known:")
    health = watcher.health() if watcher is not None else {"running": False}
    _show(magics.shell, source.status(reading, time.time(), health=health))


def _do_watch(magics: Any, args: Any) -> None:
    _no_duration(args, "watch")
    if args.warn:
        parse_thresholds(args.warn)  # a bad --warn stops here with one line
        magics.warn_at = args.warn
    watcher = magics.runtime.watcher()
    if watcher.snapshot.polls == 0:
        watcher.poll()  # the first view shows the lease, not "unknown"
    watcher.start()
    if frontend_of(magics.shell) is Frontend.NOTEBOOK:
        _display_widget(magics, watcher)
    else:
        from .terminal import countdown_line

        print(countdown_line(watcher.snapshot, watcher.monotonic(), watcher.warn_at))
        print(f"{PREFIX} " + _("watching; warnings appear before cells run."))


def _display_widget(magics: Any, watcher: Any) -> None:
    from IPython.display import display

    from .widget import CountdownWidget

    widget = CountdownWidget(
        notifications=magics.notifications,
        extend_choices=list(magics.extend_choices),
        extend_default=magics.extend_default,
    )
    widget.bind(watcher)
    magics.widgets.append(widget)
    display(widget)


def _do_stop(magics: Any, args: Any) -> None:
    _no_duration(args, "stop")
    runtime = magics.runtime
    was = runtime.watching
    magics.close_widgets()
    runtime.stop()
    print(f"{PREFIX} " + (_("stopped watching.") if was else _("was not watching.")))


def _do_extend(magics: Any, args: Any) -> None:
    if not args.duration:
        raise UsageError("extend needs a duration, e.g. %lease extend 2h")
    import time

    from ..core.duration import parse_duration
    from ..core.reading import failure

    source = magics.runtime.source()
    # The source judges the amount and refuses what would shorten the lease: one line.
    reading = source.extend(parse_duration(args.duration).total_seconds(), force=args.force)
    if reading.stale:
        raise failure(reading)
    if magics.runtime.watching:
        magics.runtime.watcher().poll()  # widgets and thresholds see the new deadline now
        _sync_widgets(magics)
    status = source.status(reading, time.time())
    print(f"{PREFIX} " + _("extended; {headline}.").format(headline=status.headline()))
    _show(magics.shell, status)


def _do_doctor(magics: Any, args: Any) -> None:
    _no_duration(args, "doctor")
    from ..doctor.report import DoctorOptions, run_doctor

    explicit = {k: v for k, v in magics.runtime.settings.location.items() if v}
    _show(magics.shell, run_doctor(DoctorOptions(**explicit)))


def _sync_widgets(magics: Any) -> None:
    """After a read someone asked for: every widget shows that reading as read (background
    polls send only news, see ``CountdownWidget.sync``)."""
    for widget in magics.widgets:
        with contextlib.suppress(Exception):
            widget.sync(exact=True)


def _no_duration(args: Any, command: str) -> None:
    if args.duration:
        raise UsageError(f"'{command}' takes no argument (got {args.duration!r})")


def _show(shell: Any, view: Any) -> None:
    """Rich display in a notebook, text in a terminal: decided in one place (``frontend_of``)."""
    if frontend_of(shell) is Frontend.NOTEBOOK:
        from IPython.display import display

        display(view)
    else:
        print(view.to_text())


_COMMANDS = {
    "status": _do_status,
    "watch": _do_watch,
    "stop": _do_stop,
    "extend": _do_extend,
    "doctor": _do_doctor,
}
