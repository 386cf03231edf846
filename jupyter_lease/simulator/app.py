"""A local ModelArts: the only HTTP peer of the tests and the demo.

A real HTTP/1.1 server (stdlib ``http.server``, one daemon thread, loopback only unless told
otherwise) that answers ShowLease, RenewLease and ShowNotebook like the real service, checks
AK/SK signatures, temporary credentials and IAM tokens like the API gateway, serves the
metadata and IAM endpoints that issue them, and can be told to misbehave (``FAULTS``).

Its clock is the injected ``clock`` plus a shift that ``advance()`` moves, so tests cross a
lease deadline without sleeping.  Every answer carries a ``Date`` from that clock.

The control API under ``/_sim/`` (JSON, no auth, loopback clients only) lets code in another
process (a kernel, the demo) drive it; :class:`SimulatorControl` is the matching client. It
refuses anything a web page could send (see :func:`control_refusal`): any site open in the
user's browser can reach 127.0.0.1.
"""

from __future__ import annotations

import logging
import shlex
import ssl
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import quote

from .._errors import UsageError
from .api import ApiRoutes
from .auth import MAX_DATE_SKEW, AuthRoutes
from .control import ControlRoutes
from .faults import (
    FAULTS,
    MAX_SECONDS,
    FaultQueue,
    bounded,
)
from .http import (
    Server,
    SimulatorControl,
    is_loopback,
)
from .model import _INSTANCES, Issued, Notebook, checked_status, checked_type, issued_secrets
from .serving import Serving

__all__ = [
    "DEFAULT_AK",
    "DEFAULT_NOTEBOOK_ID",
    "DEFAULT_PROJECT_ID",
    "DEFAULT_REGION",
    "DEFAULT_SK",
    "FAULTS",
    "Simulator",
    "SimulatorControl",
    "issued_secrets",
]

DEFAULT_PROJECT_ID = "9e7769b10f4205b4907a70c31012f037"
DEFAULT_NOTEBOOK_ID = "881ed162-ae2e-4154-bf15-052434b9b5df"
DEFAULT_AK = "UJZDE8GXD6NCF10EPF91"
DEFAULT_SK = "d0Kh8oOOL8dKLzdocJ2isAjIhKtJ0RlgLKOmxgJT"
DEFAULT_REGION = "sim-local-1"

_MAX_EPOCH_MS = 4_102_444_800_000  # 2100-01-01: a create_at later than that is a typo

_log = logging.getLogger("jupyter_lease.simulator")
#: Where the simulated JupyterLab of an instance lives (the API's examples: ``…/<id>/lab``).
URL_PREFIX = "https://authoring-modelarts-sim.example.com/"


class Simulator(Serving, ApiRoutes, AuthRoutes, ControlRoutes):
    """The local ModelArts. ``start()`` it (or use ``with``), point a client at ``url``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        project_id: str = DEFAULT_PROJECT_ID,
        notebook_id: str = DEFAULT_NOTEBOOK_ID,
        lease: float = 7200.0,
        lease_type: str = "TIMING",
        ak: str = DEFAULT_AK,
        sk: str = DEFAULT_SK,
        clock: Callable[[], float] = time.time,
        allow_remote: bool = False,
        region: str = DEFAULT_REGION,
        not_found_status: int = 400,
        metadata_ttl: float = 3600.0,
        iam_user: str = "sim-user",
        iam_password: str = "sim-password",
        iam_domain: str = "sim-domain",
        max_date_skew: Optional[float] = MAX_DATE_SKEW,
        tls: Optional[Tuple[str, str]] = None,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise UsageError(
                f"the simulator listens on loopback only; {host!r} needs allow_remote=True"
            )
        if not_found_status not in (400, 404):
            raise UsageError("not_found_status must be 400 or 404")
        self.host = "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")
        self.port = port
        self.project_id, self.notebook_id, self.region = project_id, notebook_id, region
        self.ak, self.sk = ak, sk
        self.not_found_status = not_found_status
        self.metadata_ttl = float(metadata_ttl)
        self.iam_user, self.iam_password, self.iam_domain = iam_user, iam_password, iam_domain
        self.max_date_skew = max_date_skew
        self.tls = tls  # (certfile, keyfile): serve HTTPS, to test certificate verification
        self._clock = clock
        self._init_state()
        _INSTANCES.add(self)
        self.add_notebook(notebook_id, lease=lease, lease_type=lease_type)

    def _init_state(self) -> None:
        """What the simulator keeps (all under ``_lock``), empty, and its server not started."""
        self._shift = 0.0
        self._lock = threading.RLock()
        self._notebooks: Dict[str, Notebook] = {}
        self._temporary: Dict[str, Issued] = {}  # AK -> temporary credential
        self._tokens: Dict[str, Issued] = {}  # IAM token -> scope
        self._metadata_tokens: Dict[str, Issued] = {}
        self._failures: Dict[str, int] = {}
        self._locked_until: Dict[str, float] = {}
        self._log: List[Dict[str, Any]] = []
        self._faults = FaultQueue()
        self._server: Optional[Server] = None
        self._thread: Optional[threading.Thread] = None
        self._stopping = threading.Event()
        self._stopped = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Bind and serve in a daemon thread; returns ``self``. Idempotent while running."""
        if self._server is not None:
            if self._stopped.is_set():
                raise UsageError("a stopped simulator cannot be started again")
            return self
        server = Server(self)
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server, self.port = server, server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"jupyter-lease-simulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        _log.debug("simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close every socket, open keep-alive connections included (< 1 s)."""
        server = self._server
        if server is None or self._stopped.is_set():
            return
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=0.5)
        server.wait_connections_closed(timeout=0.3)
        self._stopped.set()

    def wait(self) -> None:
        """Block until ``stop()`` is called (from another thread) or Ctrl-C, then stop."""
        try:
            while not self._stopped.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` — the ModelArts endpoint, and the control API's base."""
        if self._server is None:
            raise UsageError("the simulator has not been started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def environ(self) -> Dict[str, str]:
        """The environment a client needs to reach this simulator."""
        return {
            "JUPYTER_LEASE_ENDPOINT": self.url,
            "JUPYTER_LEASE_NOTEBOOK_ID": self.notebook_id,
            "JUPYTER_LEASE_PROJECT_ID": self.project_id,
            "JUPYTER_LEASE_REGION": self.region,
            "HUAWEICLOUD_SDK_AK": self.ak,
            "HUAWEICLOUD_SDK_SK": self.sk,
            "JUPYTER_LEASE_SIMULATOR": self.url,
        }

    def export_lines(self) -> List[str]:
        """``export K=V`` lines (values shell-quoted) for ``jupyter lease simulate``."""
        return [f"export {k}={shlex.quote(v)}" for k, v in self.environ().items()]

    # -- clock and state -------------------------------------------------------------------

    def now(self) -> float:
        """The simulator's clock: the injected clock plus everything ``advance()`` added."""
        return self._clock() + self._shift

    def _now_ms(self) -> int:
        return int(self.now() * 1000)

    def advance(self, seconds: float) -> float:
        """Move the simulator's clock (negative moves it back); returns the new ``now()``.

        The total shift stays within ±10 years (``MAX_SECONDS``): a clock at 1e308 has no
        ``Date`` header to send, and every answer after it would fail.
        """
        with self._lock:
            step = bounded("advance", seconds, -MAX_SECONDS, MAX_SECONDS)
            bounded("the total clock shift", self._shift + step, -MAX_SECONDS, MAX_SECONDS)
            self._shift += step
            self._tick_all()
            return self.now()

    def add_notebook(
        self,
        notebook_id: str,
        *,
        lease: float = 7200.0,
        lease_type: str = "TIMING",
        status: str = "RUNNING",
        name: Optional[str] = None,
        url_id: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Add (or replace) an instance whose lease ends ``lease`` seconds from now; its
        ``url`` ends ``/<url_id>/lab`` (default: its id)."""
        lease = bounded("lease", lease, -MAX_SECONDS, MAX_SECONDS)
        now_ms = self._now_ms()
        notebook = Notebook(
            id=notebook_id,
            name=name or f"notebook-{notebook_id[:8]}",
            status=checked_status(status),
            create_at=now_ms,
            duration=int(lease * 1000),
            enable=True,
            type=checked_type(lease_type),
            update_at=now_ms,
            url=f"{URL_PREFIX}{quote(url_id or notebook_id, safe='')}/lab",
        )
        with self._lock:
            self._notebooks[notebook_id] = notebook
            self._tick(notebook)
            return notebook.show()

    def set_lease(
        self,
        notebook_id: Optional[str] = None,
        *,
        remaining: Optional[float] = None,
        duration_ms: Optional[int] = None,
        create_at_ms: Optional[int] = None,
        lease_type: Optional[str] = None,
        enabled: Optional[bool] = None,
        status: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Change a lease behind the client's back; returns the lease JSON.

        ``remaining`` (seconds from now) sets ``duration`` so the deadline lands there,
        keeping ``create_at``.  ``status`` can restart a stopped instance.  A deadline in
        the past stops a RUNNING TIMING instance at once.
        """
        if remaining is not None and duration_ms is not None:
            raise UsageError("give remaining or duration_ms, not both")
        _check_lease_numbers(remaining, duration_ms, create_at_ms)
        with self._lock:
            notebook = self._notebook(notebook_id)
            if create_at_ms is not None:
                notebook.create_at = int(create_at_ms)
            if duration_ms is not None:
                notebook.duration = int(duration_ms)
            if remaining is not None:
                notebook.duration = self._now_ms() + int(remaining * 1000) - notebook.create_at
            if lease_type is not None:
                notebook.type = checked_type(lease_type)
            if enabled is not None:
                notebook.enable = bool(enabled)
            if status is not None:
                notebook.status = checked_status(status)
            notebook.update_at = self._now_ms()
            self._tick(notebook)
            return notebook.lease()

    def state(self) -> Dict[str, Any]:
        """Everything a test may want to assert on, JSON-able (no secrets)."""
        with self._lock:
            self._tick_all()
            return {
                "url": self.url if self._server else None,
                "project_id": self.project_id,
                "notebook_id": self.notebook_id,
                "region": self.region,
                "now": self.now(),
                "shift": self._shift,
                "notebooks": {k: nb.show() for k, nb in self._notebooks.items()},
                "faults": self._faults.pending(),
                "requests": len(self._log),
                "auth_failures": self._failures.get(self.ak, 0),
                "locked": self._is_locked(self.ak, self.now()),
            }

    def auth_failures(self, ak: Optional[str] = None) -> int:
        """Consecutive authentication failures recorded for ``ak`` (default: the main AK)."""
        with self._lock:
            return self._failures.get(ak or self.ak, 0)

    def _notebook(self, notebook_id: Optional[str]) -> Notebook:
        notebook = self._notebooks.get(notebook_id or self.notebook_id)
        if notebook is None:
            raise UsageError(f"no notebook {notebook_id!r} in the simulator")
        return notebook

    def _tick(self, notebook: Notebook) -> None:
        """Stop the instance if its TIMING lease has run out (``now >= create_at + duration``)."""
        if (
            notebook.status == "RUNNING"
            and notebook.enable
            and notebook.type.upper() == "TIMING"
            and self._now_ms() >= notebook.create_at + notebook.duration
        ):
            notebook.status = "STOPPED"

    def _tick_all(self) -> None:
        for notebook in self._notebooks.values():
            self._tick(notebook)

    # -- faults and the request log --------------------------------------------------------


def _check_lease_numbers(
    remaining: Optional[float], duration_ms: Optional[int], create_at_ms: Optional[int]
) -> None:
    """Finite, and within ten years (of now, or of the epoch's range for ``create_at``)."""
    if remaining is not None:
        bounded("remaining", remaining, -MAX_SECONDS, MAX_SECONDS)
    if duration_ms is not None:
        bounded("duration_ms", duration_ms, -MAX_SECONDS * 1000, MAX_SECONDS * 1000)
    if create_at_ms is not None:
        bounded("create_at_ms", create_at_ms, 0, _MAX_EPOCH_MS)
