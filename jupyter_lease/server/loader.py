"""The server extension's loader: what starts with the Jupyter server, and stops with it.

Where jupyter_server's extension apps have a stop hook (``ExtensionApp.stop_extension``: 2.x, and
1.x since 2021, so the 1.24 of JupyterLab 3.6 too), jupyter_server loads :class:`LeaseExtension`
and awaits its ``stop_extension`` as it shuts down. Older ones load the plain
``_load_jupyter_server_extension`` hook of this module, and the stop runs when the ``ServerApp``
object goes or at interpreter exit.

Either way :func:`start` builds the :class:`~.service.LeaseService`, adds the one route table
(:mod:`.routes`) and starts keep alive while busy (:mod:`.busy`), the push (:mod:`.push`) and
a warm-up read; :meth:`Started.stop` stops the keep-alive and push callbacks and the service's
threads, after which nothing of jupyter_lease calls upstream.

Loading never fails the server: the lease source is built lazily (discovery and credentials
may do network I/O, and the server must start without ModelArts), and when it cannot be built
the endpoints answer 503 with the one-line reason and the log gets one WARNING line.
"""

from __future__ import annotations

import functools
import threading
import weakref
from typing import Any, Callable, List, Optional

from .._errors import LeaseError, scrub
from ..settings import JupyterLease, drop_bad_settings, resolve
from .routes import Route, add_routes, route_table
from .service import LeaseService

__all__ = ["Started", "extension_points", "start", "_load_jupyter_server_extension"]

MODULE = "jupyter_lease.server.loader"


class Started:
    """What one load started; :meth:`stop` undoes it (idempotent)."""

    def __init__(self, service: LeaseService) -> None:
        self.service = service
        self.keeper: Any = None  # busy.BusyKeeper
        self.pusher: Any = None  # push.LeasePusher
        self.alerts: Any = None  # notify_server.Alerts

    def stop(self) -> None:
        for part in (self.pusher, self.keeper):
            if part is not None:
                part.stop()
        if self.alerts is not None:
            self.alerts.stop()  # its ticks end, and a delivery's retry gives up
        self.service.close()


def start(serverapp: Any, add: Callable[[List[Route]], Any]) -> Optional[Started]:
    """Build the service, ``add`` the route table, start the rest; never raises (a broken
    extension must not stop the server): a failure is one WARNING line and None."""
    try:
        base_url = serverapp.web_app.settings.get("base_url", "/")
        # A bad c.JupyterLease value: one line naming it, its default used, everywhere.
        drop_bad_settings(serverapp.config, serverapp.log.warning)
        settings = resolve(JupyterLease(parent=serverapp))
        _export_hub_settings(serverapp)
        service = LeaseService(serverapp.log, base_url=base_url)
        service.schedule = settings.schedule  # (keep alive while busy sets the same)
        from .frontend import frontend_view

        service.settings = frontend_view(settings)
        add(route_table(service))
        started = Started(service)
        serverapp.log.info("jupyter_lease: lease API at %sjupyter-lease/api/", base_url)
        from .labext import missing_labextension_line

        missing = missing_labextension_line()
        if missing is not None:
            serverapp.log.warning(missing)
        started.keeper = _start_keep_alive(serverapp, service)
        started.pusher = _start_push(serverapp, service)
        from .notify_server import start_notify  # never raises

        started.alerts = start_notify(serverapp, service, started.pusher)
        threading.Thread(target=service.warm_up, name="jupyter-lease-warm-up", daemon=True).start()
        return started
    except Exception as exc:
        serverapp.log.warning(
            "jupyter_lease: server extension not loaded: %s: %s",
            type(exc).__name__,
            scrub(" ".join(str(exc).split()))[:200],
        )
        return None


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """A jupyter_server whose extension apps have no stop hook: the plain hook."""
    base_url = serverapp.web_app.settings.get("base_url", "/")
    started = start(serverapp, lambda table: add_routes(serverapp.web_app, base_url, table))
    if started is not None:
        # The threads go with the ServerApp object or at interpreter exit, where Python waits
        # only for a call in flight, which the client's timeouts bound.
        weakref.finalize(serverapp, started.stop)


@functools.lru_cache(maxsize=None)
def _extension_app() -> Optional[type]:
    """:class:`LeaseExtension` where jupyter_server awaits an extension app's stop hook."""
    try:
        from jupyter_server.extension.application import ExtensionApp
    except ImportError:
        return None
    if getattr(ExtensionApp, "stop_extension", None) is None:  # a jupyter_server before 2021
        return None

    class LeaseExtension(ExtensionApp):  # type: ignore[misc,valid-type]
        """jupyter_lease as an extension app: the same :func:`start`, and a real stop."""

        name = "jupyter_lease"
        load_other_extensions = True
        started: Optional[Started] = None

        def initialize_handlers(self) -> None:
            # ExtensionApp puts base_url in front of each pattern of self.handlers.
            def add(table: List[Route]) -> None:
                self.handlers = [*self.handlers, *table]

            self.started = start(self.serverapp, add)

        async def stop_extension(self) -> None:
            if self.started is not None:
                self.started.stop()

    return LeaseExtension


def extension_points() -> list:
    """``_jupyter_server_extension_points``: the extension app where it gets a stop hook, else
    the module's plain hook."""
    app = _extension_app()
    return [{"module": MODULE} if app is None else {"module": MODULE, "app": app}]


def _start_keep_alive(serverapp: Any, service: LeaseService) -> Any:
    """Keep alive while busy (:mod:`.busy`), or None: its failure leaves the lease API up."""
    try:
        from .busy import start_keep_alive

        return start_keep_alive(serverapp, service)
    except Exception as exc:
        serverapp.log.warning(
            "jupyter_lease: keep alive while busy unavailable: %s", type(exc).__name__
        )
        return None


def _start_push(serverapp: Any, service: LeaseService) -> Any:
    """New readings pushed to the pages (:mod:`.push`), or None: the pages poll."""
    try:
        from .push import start_push

        pusher = start_push(serverapp, service)
        service.pushing = pusher is not None
        return pusher
    except Exception as exc:
        serverapp.log.warning("jupyter_lease: lease push unavailable: %s", type(exc).__name__)
        return None


def _export_hub_settings(serverapp: Any) -> None:
    """``c.JupyterLease.cull_timeout`` / ``cull_every`` / ``max_age`` into this server's
    environment (the config wins over the Hub's), so its kernels and terminals read the same
    JupyterHub culler settings as the server; a bad value is one line, then ignored."""
    import os

    from ..jupyterhub.config import CULL_ENV, seconds_setting

    config = JupyterLease(parent=serverapp)
    for setting, (variable, _flag) in CULL_ENV.items():
        value = getattr(config, setting, "")
        if not value:
            continue
        try:
            seconds_setting(value, f"c.JupyterLease.{setting}")
        except LeaseError as exc:
            serverapp.log.warning("jupyter_lease: %s; ignored", exc)
            continue
        os.environ[variable] = value
