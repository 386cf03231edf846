"""``%load_ext jupyter_lease``: register the magic and the pre-run hook; undo both on unload.

Loading must stay cheap (≤ 5 ms, measured in benchmarks): it creates the light magics class
of ``magic`` and registers its hook, nothing else; the runtime, the watcher, the client and
the widget load on first use. Auto-watch does its discovery in a background thread.
"""

from __future__ import annotations

import contextlib
from typing import Any, Dict

__all__ = ["load_ipython_extension", "unload_ipython_extension"]

# One entry per shell: what this extension registered there, so unload can remove exactly that.
_LOADED: Dict[int, Any] = {}


def load_ipython_extension(shell: Any) -> None:
    from ..settings import provide_runtime_settings
    from .magic import JupyterLease

    unload_ipython_extension(shell)  # %reload_ext, or a second %load_ext: never two watchers
    magics = JupyterLease(shell=shell)  # joins shell.configurables: %config JupyterLease works
    shell.register_magics(magics)
    shell.events.register("pre_run_cell", magics.before_cell)
    _LOADED[id(shell)] = magics
    # Its settings apply to the process's runtime when that is created (watch/ imports no kernel).
    provide_runtime_settings(id(shell), magics.apply_settings)
    if magics.auto_watch:
        magics.start_auto_watch()


def unload_ipython_extension(shell: Any) -> None:
    from ..settings import provide_runtime_settings
    from .magic import existing_runtime

    magics = _LOADED.pop(id(shell), None)
    if magics is None:
        return
    provide_runtime_settings(id(shell), None)
    with contextlib.suppress(ValueError):
        shell.events.unregister("pre_run_cell", magics.before_cell)
    shell.configurables[:] = [c for c in shell.configurables if c is not magics]
    shell.magics_manager.magics["line"].pop("lease", None)
    magics.close_widgets()
    runtime = existing_runtime()
    if runtime is not None:
        runtime.close()
