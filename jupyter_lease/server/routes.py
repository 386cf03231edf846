"""The server extension's one route table: every URL pattern it serves, and its handler.

Both loaders (:mod:`.loader`: jupyter_server 2's ``ExtensionApp``, which puts the server's
``base_url`` in front of each pattern itself, and the plain ``_load_jupyter_server_extension``
hook of jupyter_server 1.x, through :func:`add_routes`) add exactly this table.

    GET  {base_url}jupyter-lease/api/lease            the lease (the newest view, at once)
    POST {base_url}jupyter-lease/api/lease/extend     {"duration": "2h"} → RenewLease
    GET  {base_url}jupyter-lease/api/doctor           ``jupyter lease doctor --json``
    GET/POST/DELETE {base_url}jupyter-lease/api/keep-alive[/work]   keep alive while busy

    GET/POST {base_url}jupyter-lease/api/notify       the server-side alerts' channels

The keep-alive pair (:data:`KEEP_ALIVE_PATH`, :data:`WORK_PATH`) is added by
:func:`.busy.start_keep_alive` with the keeper it starts (:mod:`.busy_handlers`), the alerts'
route (``notify_server.NOTIFY_PATH``) by :func:`.notify_server.start_notify` with its alerts.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from jupyter_server.utils import url_path_join

from .busy_handlers import KEEP_ALIVE_PATH, WORK_PATH
from .doctor_handler import Doctor, DoctorHandler
from .handlers import ExtendHandler, LeaseHandler
from .service import LeaseService

__all__ = [
    "API_PATH",
    "DOCTOR_PATH",
    "EXTEND_PATH",
    "KEEP_ALIVE_PATH",
    "WORK_PATH",
    "Route",
    "add_routes",
    "route_table",
]

API_PATH = "jupyter-lease/api/lease"
EXTEND_PATH = "jupyter-lease/api/lease/extend"
DOCTOR_PATH = "jupyter-lease/api/doctor"

Route = Tuple[str, Any, Dict[str, Any]]


def route_table(service: LeaseService) -> List[Route]:
    """``(pattern relative to base_url, handler class, its initialize() arguments)``."""
    return [
        (API_PATH, LeaseHandler, {"service": service}),
        (EXTEND_PATH, ExtendHandler, {"service": service}),
        (DOCTOR_PATH, DoctorHandler, {"doctor": Doctor(service)}),
    ]


def add_routes(web_app: Any, base_url: str, table: List[Route]) -> List[str]:
    """Add ``table`` under ``base_url`` (the plain hook's way); returns the URLs."""
    routes = [(url_path_join(base_url, pattern), h, kw) for pattern, h, kw in table]
    web_app.add_handlers(".*$", routes)
    return [url for url, _h, _kw in routes]
