"""``GET {base_url}jupyter-lease/api/doctor``: ``jupyter lease doctor --json``, as the server sees.

The status panel links to it: what was discovered, which credentials are used (masked) and the
versions — from the server's own environment, which on ModelArts is not the kernel's. Same
rules as the lease API (:mod:`.handlers`): a login, the ``jupyter_lease`` authorization
resource, JSON, errors as one line. The report never holds a secret
(:func:`~jupyter_lease.doctor.report.run_doctor` removes the keys and tokens in use by value);
it is built on the service's own threads, and concurrent requests share one run.
"""

from __future__ import annotations

from typing import Any, Dict

from jupyter_server.auth.decorator import authorized
from tornado import web

from .handlers import _LeaseAPIHandler
from .service import LeaseService

__all__ = ["Doctor", "DoctorHandler"]


class Doctor:
    """One doctor run per request (joined while one is in flight)."""

    def __init__(self, service: LeaseService) -> None:
        self.service = service

    def report(self) -> Dict[str, Any]:
        """Blocking: the report as ``--json`` prints it, for the provider this server's lease
        source is built for (the same choice: ``$JUPYTER_LEASE_PROVIDER``, else auto with this
        server's base_url as the notebook's hint)."""
        from ..doctor.provider import doctor_for
        from ..doctor.report import DoctorOptions
        from ..watch.providers import choose

        # A bad provider name: ConfigurationError, answered 503 with its one line.
        choice = choose(None, {"server_base_url": self.service.base_url})
        # No notebook id passed: the report shows the chain as discovery walks it (this
        # server's base_url comes from its runtime file).
        alerts = self.service.notify  # the alerts' channels and last send (server/notify_server)
        urls, status = (alerts.config_urls, alerts.sender.status()) if alerts else ((), None)
        report = doctor_for(choice, DoctorOptions(), notify_urls=urls, notify_status=status)
        return report.to_dict()


class DoctorHandler(_LeaseAPIHandler):
    def initialize(self, doctor: Doctor) -> None:  # type: ignore[override]
        self.doctor = doctor
        self.service = doctor.service

    @web.authenticated
    @authorized
    async def get(self) -> None:
        work = self.service.offload.shared(self.doctor.report)
        await self._answer(work, "the doctor report")
