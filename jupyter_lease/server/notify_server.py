"""Server-side alerts in the Jupyter server (:mod:`jupyter_lease.notify`), and their endpoint:

    GET  {base_url}jupyter-lease/api/notify   {"channels": [{"scheme", "shown", "from"}], "status"}
    POST {base_url}jupyter-lease/api/notify   {"urls": ["json://…", …]} → the user file, then GET

The answers show channels as schemes only (``json://…``): a URL is a secret and never leaves
the server. The POST replaces the user file (mode 0600) and the channels at once; it needs a
login and, like every POST of jupyter_server, the XSRF token of a browser session.

The alerts see the lease views the push builds (:mod:`.push`); on jupyter_server 1.x, which has
no event bus to push on, a pusher that emits nothing runs for them, so the lease is still read
when no page is open.
"""

from __future__ import annotations

import json
import weakref
from typing import Any, Dict, List, Optional, Tuple

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from .._defaults import DEFAULT_WARN_AT_S
from .handlers import _LeaseAPIHandler
from .service import LeaseService

__all__ = ["NOTIFY_PATH", "start_notify"]

NOTIFY_PATH = "jupyter-lease/api/notify"
TICK_MS = 1000  # thresholds are crossed by time passing: look once a second (no I/O)
_MAX_BODY = 64 * 1024


class Alerts:
    """The server's notifier and sender, and what the endpoint changes."""

    def __init__(self, serverapp: Any, service: LeaseService) -> None:
        from ..i18n import language
        from ..notify.channels import load_channels
        from ..notify.notifier import Notifier
        from ..notify.sender import Sender
        from ..settings import JupyterLease

        self.config_urls = list(JupyterLease(parent=serverapp).notify_urls)
        self.service = service
        self.log = serverapp.log
        channels = load_channels(self.config_urls)
        for problem in channels.problems:
            self.log.warning("jupyter_lease: %s", problem)
        self.sender = Sender(channels, self.log)
        if self.sender.missing:
            self.log.warning("jupyter_lease: %s", self.sender.missing)
        settings = service.settings or {}
        thresholds = [ms / 1000 for ms in settings.get("warn_at_ms", [])] or DEFAULT_WARN_AT_S
        lang = language()  # the server's locale, as for its other words
        self.notifier = Notifier(self.sender, self.where, thresholds, logger=self.log, lang=lang)
        self.timers: List[Any] = []  # the PeriodicCallbacks _start started, stopped by stop()

    def stop(self) -> None:
        """With the server: no more ticks, and a delivery's retry gives up. Idempotent."""
        for timer in self.timers:
            timer.stop()
        self.sender.close()

    def where(self) -> Optional[Tuple[str, str]]:
        """The lease's identity and its cache file, once the source is built."""
        from ..watch.sources import lease_identity

        source = self.service.built()  # a watch.cache.CachedSource: its file is .path
        if source is None:
            return None
        try:
            return lease_identity(source), source.path
        except Exception:  # a source without an identity: no shared record, no alerts
            return None

    def view(self) -> Dict[str, Any]:
        """The GET answer: channels as schemes, and the last outcome."""
        channels = self.sender.channels
        return {
            "channels": [c.public() for c in channels.channels],
            "problems": list(channels.problems),
            "status": self.sender.status(),
        }

    def replace_file(self, urls: Any) -> Dict[str, Any]:
        """Blocking: write the user file, reload the channels; ValueError is the caller's 400."""
        from ..notify.channels import load_channels, write_user_file
        from ..watch.cachefile import UnsafeCache

        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise ValueError('give {"urls": ["json://…", …]} (a list of Apprise URLs)')
        try:
            write_user_file(urls)
        except UnsafeCache as exc:  # one line naming the file or directory, never a URL
            raise ValueError(f"the notify file was not written: {exc}") from None
        except OSError as exc:
            name = type(exc).__name__
            raise ValueError(f"the notify file could not be written ({name})") from None
        channels = load_channels(self.config_urls)
        self.sender.use(channels)
        self.log.info("jupyter_lease: alert channels now %s", channels.masked())
        return self.view()


class NotifyHandler(_LeaseAPIHandler):
    def initialize(self, alerts: Alerts) -> None:  # type: ignore[override]
        self.alerts = alerts
        self.service = alerts.service

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self._reply(200, self.alerts.view())

    @web.authenticated
    @authorized
    async def post(self) -> None:
        raw = self.request.body
        try:
            if len(raw) > _MAX_BODY:
                raise ValueError("the request body is too large")
            data = json.loads(raw or b"{}")
            urls = data.get("urls") if isinstance(data, dict) else None
            body = await self.service.offload.run(lambda: self.alerts.replace_file(urls))
        except ValueError as exc:  # JSONDecodeError included; never a URL in the line
            message = str(exc) if not isinstance(exc, json.JSONDecodeError) else "not JSON"
            self._reply(400, {"error": message})
            return
        self._reply(200, body)


def start_notify(serverapp: Any, service: LeaseService, pusher: Any) -> Optional[Alerts]:
    """Alerts on (the endpoint always; the checks when channels are configured); never
    raises: a failure is one line in the log and leaves the lease API up."""
    try:
        return _start(serverapp, service, pusher)
    except Exception as exc:
        serverapp.log.warning(
            "jupyter_lease: server-side alerts unavailable: %s", type(exc).__name__
        )
        return None


def _start(serverapp: Any, service: LeaseService, pusher: Any) -> Alerts:
    from tornado.ioloop import PeriodicCallback

    from .push import TICK_S, LeasePusher

    alerts = Alerts(serverapp, service)
    url = url_path_join(service.base_url, NOTIFY_PATH)
    serverapp.web_app.add_handlers(".*$", [(url, NotifyHandler, {"alerts": alerts})])
    service.notify = alerts
    service.view_inputs.append(alerts.sender.status)  # the view's `notify` field
    weakref.finalize(serverapp, alerts.sender.close)  # a retry in wait gives up with the server
    if pusher is None and alerts.sender.channels.channels:
        # jupyter_server 1.x: a pusher with no bus, so that the lease is read with no page open
        pusher = LeasePusher(service, lambda view: None)
        alerts.timers.append(PeriodicCallback(pusher.tick, TICK_S * 1000))
    if pusher is not None:
        pusher.observers.append(alerts.notifier.observe)
    alerts.timers.append(PeriodicCallback(alerts.notifier.tick, TICK_MS))
    for timer in alerts.timers:
        timer.start()
    if alerts.sender.channels.channels:
        serverapp.log.info("jupyter_lease: alerts to %s", alerts.sender.channels.masked())
    return alerts
