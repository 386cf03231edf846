"""``%lease``: the IPython magic, its traitlets configuration, and the extension hooks.

Configuration works like any IPython configurable (jupysql's pattern):
``%config JupyterLease.warn_at = "20m,5m"`` in a notebook, or
``c.JupyterLease.auto_watch = True`` in ``ipython_config.py``.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
from typing import Any, List, Optional

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Unicode, observe, validate
from traitlets import List as ListTrait

from ._errors import LeaseError, UsageError, scrub
from ._frontend import Frontend, frontend_of
from ._runtime import Runtime, get_runtime
from ._schedule import PollSchedule, parse_thresholds
from .core import DEFAULT_EXTEND_CHOICES, DEFAULT_WARN_AT

__all__ = ["JupyterLease"]

COMMANDS = ("status", "watch", "stop", "extend", "doctor")
PREFIX = "jupyter_lease:"
# A line running the magic, or the CLI through a shell escape (`!jupyter lease extend 2h`).
_LEASE_CELL = re.compile(r"^\s*(?:%lease\b|!.*\bjupyter[- ]lease\b)", re.MULTILINE)


@magics_class
class JupyterLease(Magics):
    """Watch and extend this notebook instance's ModelArts lease."""

    warn_at = Unicode(
        DEFAULT_WARN_AT, help="Warn when this much time is left (comma-separated durations)."
    ).tag(config=True)
    poll_far = Unicode("5m", help="Poll interval while the stop is more than 30 min away.").tag(
        config=True
    )
    poll_near = Unicode("1m", help="Poll interval inside 30 min.").tag(config=True)
    poll_final = Unicode("15s", help="Poll interval inside 5 min.").tag(config=True)
    auto_watch = Bool(
        False, help="Start watching when the extension loads, if a lease is discoverable."
    ).tag(config=True)
    notifications = Bool(
        True, help="Offer browser notifications at warning thresholds (asked on a click)."
    ).tag(config=True)
    cell_warnings = Bool(
        True, help="Print one warning line before a cell runs when the stop is near."
    ).tag(config=True)
    extend_choices = ListTrait(
        Unicode(),
        default_value=list(DEFAULT_EXTEND_CHOICES),
        help="Durations offered by the widget's Extend button.",
    ).tag(config=True)
    notebook_id = Unicode(
        None, allow_none=True, help="Notebook instance id (default: discovered)"
    ).tag(config=True)
    project_id = Unicode(None, allow_none=True, help="Project id (default: discovered)").tag(
        config=True
    )
    region = Unicode(None, allow_none=True, help="Region (default: discovered)").tag(config=True)
    endpoint = Unicode(None, allow_none=True, help="ModelArts endpoint (default: discovered)").tag(
        config=True
    )

    def __init__(self, shell: Any = None, runtime: Optional[Runtime] = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.runtime = runtime or get_runtime()
        self.widgets: List[Any] = []
        self._apply_settings()

    # -- configuration --------------------------------------------------------------------------

    # A bad value from %config or a profile is refused with one line and the old value kept:
    # a TraitError would put a traceback in the user's cell.
    @validate("warn_at")
    def _valid_thresholds(self, proposal: Any) -> str:
        return _checked(proposal, parse_thresholds)

    @validate("poll_far", "poll_near", "poll_final")
    def _valid_interval(self, proposal: Any) -> str:
        from ._duration import parse_duration

        return _checked(proposal, parse_duration)

    @observe(
        "warn_at",
        "poll_far",
        "poll_near",
        "poll_final",
        "notebook_id",
        "project_id",
        "region",
        "endpoint",
    )
    def _settings_changed(self, change: Any) -> None:
        self._apply_settings()

    def _apply_settings(self) -> None:
        from ._duration import parse_duration

        self.runtime.configure(
            warn_at=parse_thresholds(self.warn_at),
            schedule=PollSchedule(
                far=parse_duration(self.poll_far).total_seconds(),
                near=parse_duration(self.poll_near).total_seconds(),
                final=parse_duration(self.poll_final).total_seconds(),
            ),
            location={
                "notebook_id": self.notebook_id,
                "project_id": self.project_id,
                "region": self.region,
                "endpoint": self.endpoint,
            },
        )

    # -- the magic --------------------------------------------------------------------------------

    @magic_arguments()
    @argument(
        "command",
        nargs="?",
        default="status",
        help="status (default) | watch | stop | extend DURATION | doctor",
    )
    @argument("duration", nargs="?", help="for extend: how long to keep running from now, 1h-72h")
    @argument("--warn", help="for watch: warning thresholds, e.g. 30m,10m,5m,1m")
    @argument(
        "--force",
        action="store_true",
        help="for extend: even an IDLE lease or auto-stop off (it becomes a timed stop)",
    )
    @line_magic
    def lease(self, line: str = "") -> Any:
        """Show, watch and extend this notebook instance's ModelArts lease.

        %lease                  time left, stop time, where each setting came from
        %lease watch            a live countdown (widget in notebooks, warnings in terminals)
        %lease extend 2h        keep the instance running 2 h from now (1h-72h)
        %lease extend 2h --force   the same for an IDLE lease or auto-stop off (becomes timed)
        %lease stop             stop watching
        %lease doctor           what was discovered, which credentials are used
        """
        args = parse_argstring(self.lease, line)
        if args.command not in COMMANDS:
            _say(f"unknown command {args.command!r}; use one of: {', '.join(COMMANDS)}")
            return None
        try:
            if args.force and args.command != "extend":
                raise UsageError("--force goes with extend only, e.g. %lease extend 2h --force")
            return getattr(self, f"_do_{args.command}")(args)
        except LeaseError as exc:
            _say(scrub(str(exc)))
        return None

    def _do_status(self, args: Any) -> None:
        _no_duration(args, "status")
        from ._status import LeaseStatus

        watcher = self.runtime.watcher() if self.runtime.watching else None
        client = self.runtime.client()
        reading = None
        with client.fresh():  # asked explicitly: read upstream now, not the shared cache
            if watcher is not None:
                snap = watcher.poll()
                self._sync_widgets()  # the reading just read, as read
                if snap.lease is None or snap.stopped:
                    raise watcher.last_exception or LeaseError(snap.last_error or "lease unknown")
                if snap.stale:
                    _say(f"the lease could not be refreshed ({snap.last_error}); last known:")
                lease, reading = snap.lease, snap.reading
            else:
                lease = client.show()
        health = watcher.health() if watcher is not None else {"running": False}
        status = LeaseStatus.from_client(client, lease, reading, health=health)
        _show(self.shell, status)

    def _do_watch(self, args: Any) -> None:
        _no_duration(args, "watch")
        if args.warn:
            parse_thresholds(args.warn)  # a bad --warn stops here with one line
            self.warn_at = args.warn
        watcher = self.runtime.watcher()
        if watcher.snapshot.polls == 0:
            watcher.poll()  # the first view shows the lease, not "unknown"
        watcher.start()
        if frontend_of(self.shell) is Frontend.NOTEBOOK:
            self._display_widget(watcher)
        else:
            from ._terminal import countdown_line

            print(countdown_line(watcher.snapshot, watcher.monotonic(), watcher.warn_at))
            print(f"{PREFIX} watching; warnings appear before cells run.")

    def _display_widget(self, watcher: Any) -> None:
        from IPython.display import display

        from ._widget import CountdownWidget

        widget = CountdownWidget(
            notifications=self.notifications, extend_choices=list(self.extend_choices)
        )
        widget.bind(watcher)
        self.widgets.append(widget)
        display(widget)

    def _do_stop(self, args: Any) -> None:
        _no_duration(args, "stop")
        was = self.runtime.watching
        self.close_widgets()
        self.runtime.stop()
        print(f"{PREFIX} stopped watching." if was else f"{PREFIX} was not watching.")

    def _do_extend(self, args: Any) -> None:
        if not args.duration:
            raise UsageError("extend needs a duration, e.g. %lease extend 2h")
        from ._duration import renewal
        from ._status import LeaseStatus

        duration = renewal(args.duration)
        client = self.runtime.client()
        lease = client.renew(duration, force=args.force)
        if self.runtime.watching:
            self.runtime.watcher().poll()  # widgets and thresholds see the new deadline now
            self._sync_widgets()
        status = LeaseStatus.from_client(client, lease)
        print(f"{PREFIX} extended; {status.headline()}.")
        _show(self.shell, status)

    def _do_doctor(self, args: Any) -> None:
        _no_duration(args, "doctor")
        from ._doctor import DoctorOptions, run_doctor

        explicit = {k: v for k, v in self.runtime.settings.location.items() if v}
        _show(self.shell, run_doctor(DoctorOptions(**explicit)))

    # -- hooks ----------------------------------------------------------------------------------

    def before_cell(self, *info: Any) -> None:
        """``pre_run_cell``: the one safe place to print a warning (we are in the main thread).

        Flushed at once: the kernel sends stdout and stderr separately, and an unflushed line
        would land after the cell's own output. A cell that runs ``%lease`` or ``jupyter
        lease`` gets none: it shows or changes the lease itself, so its own answer is newer.
        """
        if not (self.cell_warnings and self.runtime.watching):
            return
        raw_cell = getattr(info[0], "raw_cell", None) if info else None
        if isinstance(raw_cell, str) and _LEASE_CELL.search(raw_cell):
            return
        try:
            shown = self.runtime.watcher().present()
            if shown.warning:  # warning, critical or expired: from the largest threshold on
                from ._terminal import warning_line

                print(warning_line(shown), file=sys.stderr, flush=True)
        except Exception:  # a hook that raises would break every cell
            pass

    def start_auto_watch(self) -> None:
        """Discover in a background thread; watch only if a lease is discoverable."""

        def attempt() -> None:
            try:
                self.runtime.client()
            except Exception:  # not on ModelArts, or not configured: stay quiet
                return
            self.runtime.watch()

        threading.Thread(target=attempt, name="jupyter-lease-autowatch", daemon=True).start()

    def _sync_widgets(self) -> None:
        """After a read someone asked for: every widget shows that reading as read (background
        polls send only news, see ``CountdownWidget.sync``)."""
        for widget in self.widgets:
            with contextlib.suppress(Exception):
                widget.sync(exact=True)

    def close_widgets(self) -> None:
        for widget in self.widgets:
            with contextlib.suppress(Exception):
                widget.close()
        self.widgets.clear()


def _checked(proposal: Any, parse: Any) -> str:
    owner, name, value = proposal["owner"], proposal["trait"].name, proposal["value"]
    # Remember good values ourselves: while %config holds notifications, traitlets has
    # already stored the new value by the time it validates.
    good = owner.__dict__.setdefault("_last_good", {})
    try:
        parse(value)
    except LeaseError as exc:
        old = good.get(name, proposal["trait"].default_value)
        _say(f"{name} = {value!r} ignored ({exc}); keeping {old!r}")
        return old
    good[name] = value
    return value


def _no_duration(args: Any, command: str) -> None:
    if args.duration:
        raise UsageError(f"'{command}' takes no argument (got {args.duration!r})")


def _say(message: str) -> None:
    """One line on stderr; never a traceback."""
    print(f"{PREFIX} {message}", file=sys.stderr)


def _show(shell: Any, view: Any) -> None:
    """Rich display in a notebook, text in a terminal: decided in one place (``frontend_of``)."""
    if frontend_of(shell) is Frontend.NOTEBOOK:
        from IPython.display import display

        display(view)
    else:
        print(view.to_text())
