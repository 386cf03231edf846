"""``%lease``: the IPython magic's configuration and its pre-run hook, all that loading registers.

Configuration works like any IPython configurable (jupysql's pattern):
``%config JupyterLease.warn_at = "20m,5m"`` in a notebook, or
``c.JupyterLease.auto_watch = True`` in ``ipython_config.py``. The traits shared with the server
are :class:`jupyter_lease.settings.JupyterLease`'s.

``%load_ext jupyter_lease`` has a budget of 5 ms (benchmarks/), so this module imports only
what IPython has loaded already. The commands (argument parsing, the runtime, the watcher,
discovery, the HTTP client, the widget) are in ``magic_commands`` and load on the first
``%lease``; the runtime is created there, or by the API, and takes this configuration then.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import sys
import threading
from typing import Any, Callable, Dict, List, Tuple

from IPython.core.magic import Magics, line_magic, magics_class
from traitlets import Bool, observe, validate

from .. import settings

__all__ = ["ARGUMENTS", "JupyterLease", "existing_runtime", "say"]

PREFIX = "jupyter_lease:"
# A line running the magic, or the CLI through a shell escape (`!jupyter lease extend 2h`).
_LEASE_CELL = re.compile(r"^\s*(?:%lease\b|!.*\bjupyter[- ]lease\b)", re.MULTILINE)

# The magic's arguments, defined once: `%lease?` shows them (written into the docstring at
# load, a string join), and ``magic_commands`` builds its parser from them on first use.
ARGUMENTS: Tuple[Tuple[str, Dict[str, Any]], ...] = (
    (
        "command",
        {
            "nargs": "?",
            "default": "status",
            "metavar": "command",
            "help": "status (default) | watch | stop | extend DURATION | doctor",
        },
    ),
    (
        "duration",
        {
            "nargs": "?",
            "metavar": "duration",
            "help": "for extend: how long to keep running from now, 1h-72h",
        },
    ),
    ("--warn", {"metavar": "WARN", "help": "for watch: warning thresholds, e.g. 30m,10m,5m,1m"}),
    (
        "--force",
        {
            "action": "store_true",
            "help": "for extend: even an IDLE lease or auto-stop off (it becomes a timed stop)",
        },
    ),
)


def _arguments_help() -> str:
    def shown(name: str, spec: Dict[str, Any]) -> str:
        return name if "action" in spec or not name.startswith("-") else f"{name} {spec['metavar']}"

    usage = " ".join(f"[{shown(name, spec)}]" for name, spec in ARGUMENTS)
    rows = [f"  {shown(name, spec):<14}{spec['help']}" for name, spec in ARGUMENTS]
    return f"\n\n::\n\n  %lease {usage}\n\n" + "\n".join(rows) + "\n"


def existing_runtime() -> Any:
    """The process's runtime if something created it, else None, without creating or even
    importing it: before that there is no watcher to configure, warn from or close."""
    module = sys.modules.get("jupyter_lease.watch.runtime")
    return None if module is None else module.existing_runtime()


@magics_class
class JupyterLease(Magics, settings.JupyterLease):
    """Watch and extend this notebook instance's ModelArts lease."""

    # The shared settings (warn_at, poll_*, extend_choices, notifications, the location…) come
    # from settings.JupyterLease, which the server reads too; these two are the kernel's own.
    auto_watch = Bool(
        False, help="Start watching when the extension loads, if a lease is discoverable."
    ).tag(config=True)
    cell_warnings = Bool(
        True, help="Print one warning line before a cell runs when the stop is near."
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.widgets: List[Any] = []
        runtime = existing_runtime()
        if runtime is not None:  # %reload_ext: the process's runtime takes the new settings
            self.apply_settings(runtime)

    @property
    def runtime(self) -> Any:
        """The process's runtime; created on first use, configured by every loaded magic."""
        from ..watch.runtime import get_runtime

        return get_runtime()

    # -- configuration --------------------------------------------------------------------------

    # A bad value from %config or a profile is refused with one line and the old value kept:
    # a TraitError would put a traceback in the user's cell. The typed traits (warn_at, poll_*,
    # renew_*, extend_choices: jupyter_lease.settings) check their values and ask this.
    def refuse_setting(self, trait: Any, line: str) -> Any:
        name = trait.name
        old = self._trait_values[name] if name in self._trait_values else trait.default()
        say(f"{line}; keeping {old!r}")
        return old

    @validate("provider")
    def _valid_provider(self, proposal: Any) -> Any:
        if proposal["value"] is None:
            return None
        from ..watch.providers import provider_setting

        return _checked(proposal, provider_setting)

    @observe(
        "provider",
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
        runtime = existing_runtime()
        if runtime is not None:  # otherwise the runtime reads the settings when created
            self.apply_settings(runtime)

    def apply_settings(self, runtime: Any) -> None:
        """The runtime takes these settings, resolved once (``settings.resolve``)."""
        runtime.apply(settings.resolve(self))

    # -- the magic --------------------------------------------------------------------------------

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
        from .magic_commands import run

        return run(self, line)

    lease.__doc__ = inspect.cleandoc(lease.__doc__ or "") + _arguments_help()

    # -- hooks ----------------------------------------------------------------------------------

    def before_cell(self, *info: Any) -> None:
        """``pre_run_cell``: the one safe place to print a warning (we are in the main thread).

        Flushed at once: the kernel sends stdout and stderr separately, and an unflushed line
        would land after the cell's own output. A cell that runs ``%lease`` or ``jupyter
        lease`` gets none: it shows or changes the lease itself, so its own answer is newer.
        """
        runtime = existing_runtime()
        if not (self.cell_warnings and runtime is not None and runtime.watching):
            return
        try:
            watcher = runtime.watcher()
            if watcher.quiet():  # the stop is far: every cell until then costs a comparison
                return
            raw_cell = getattr(info[0], "raw_cell", None) if info else None
            if isinstance(raw_cell, str) and _LEASE_CELL.search(raw_cell):
                return
            from ..i18n import language

            shown = watcher.present(language())
            if shown.warning:  # warning, critical or expired: from the largest threshold on
                from .terminal import warning_line

                print(warning_line(shown), file=sys.stderr, flush=True)
        except Exception:  # a hook that raises would break every cell
            pass

    def start_auto_watch(self) -> None:
        """Discover in a background thread; watch only if a lease is discoverable."""

        def attempt() -> None:
            try:
                self.runtime.source()
            except Exception:  # not on ModelArts, or not configured: stay quiet
                return
            self.runtime.watch()

        threading.Thread(target=attempt, name="jupyter-lease-autowatch", daemon=True).start()

    def close_widgets(self) -> None:
        for widget in self.widgets:
            with contextlib.suppress(Exception):
                widget.close()
        self.widgets.clear()


def _checked(proposal: Any, parse: Callable[[str], Any]) -> str:
    from .._errors import LeaseError

    owner, name, value = proposal["owner"], proposal["trait"].name, proposal["value"]
    # Remember good values ourselves: while %config holds notifications, traitlets has
    # already stored the new value by the time it validates.
    good = owner.__dict__.setdefault("_last_good", {})
    try:
        parse(value)
    except LeaseError as exc:
        old = good.get(name, proposal["trait"].default_value)
        say(f"{name} = {value!r} ignored ({exc}); keeping {old!r}")
        return old
    good[name] = value
    return value


def say(message: str) -> None:
    """One line on stderr; never a traceback."""
    print(f"{PREFIX} {message}", file=sys.stderr)
