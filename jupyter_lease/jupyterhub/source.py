"""A JupyterHub server's culler and maximum age as a lease: :class:`HubSource`, a
:class:`~jupyter_lease.core.LeaseSource`.

``read()`` asks the Hub for the user model (``GET {JUPYTERHUB_API_URL}/users/{name}``) with the
server's own token and turns it into a reading (:func:`.model.hub_reading`), on the Hub's clock
(the offset measured from its ``Date`` headers). ``extend()`` records activity for this server
(``POST …/users/{name}/activity``, as jupyterhub-singleuser does): the idle culler then counts
from now, so the server stays at least the cull timeout from now. The maximum age and a fixed
run time cannot be moved from inside: such a reading says so and offers no Extend.

Without the Hub's variables but with jupyterlab-server-timer's (``JOB_START_TIME``,
``JOB_RUN_TIME``) the source reads the fixed stop alone, asking nothing.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional
from urllib.parse import quote

from .._errors import (
    APIError,
    AuthenticationError,
    BadResponseError,
    DurationError,
    ExtendNotAllowedError,
    ExtendRefusedError,
    LeaseError,
    NetworkError,
    PermissionDeniedError,
    scrub,
)
from ..core.clock import OffsetEstimate, observe_date
from ..core.reading import Reading
from ..core.reading_status import ReadingOnlySource
from .config import HubSettings, settings_from
from .model import ServerTimes, activity_body, hub_reading, server_times

if TYPE_CHECKING:  # requests is imported lazily: `import jupyter_lease` must stay cheap
    import requests

__all__ = ["HubSource"]

TIMEOUT = (5.0, 10.0)  # connect, read: the Hub answers in milliseconds


class HubSource(ReadingOnlySource):
    """This single-user server's stop, read from its Hub (``settings``: :mod:`.config`)."""

    PROVIDER = "jupyterhub"

    def __init__(
        self,
        settings: HubSettings,
        *,
        session: Optional[requests.Session] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._session = session
        self._clock = clock
        self._offset: Optional[OffsetEstimate] = None
        self._last = Reading(source=settings.name, source_id=settings.source_id, subject="server")

    @classmethod
    def from_environ(cls, environ: Optional[Mapping[str, str]] = None) -> HubSource:
        return cls(settings_from(environ))

    def __repr__(self) -> str:
        return f"HubSource({self.settings!r})"

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def source_id(self) -> str:
        return self.settings.source_id

    @property
    def asks_hub(self) -> bool:
        return bool(self.settings.api_url and self.settings.token and self.settings.user)

    def describe(self) -> str:
        if not self.asks_hub:
            return f"{self.name} (JOB_START_TIME + JOB_RUN_TIME)"
        return f"{self.name} (the idle culler and maximum age, from {self.settings.api_url})"

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- reading -------------------------------------------------------------------------------

    def read(self) -> Reading:
        """The stop now; the last known reading, stale, when the Hub cannot be asked."""
        try:
            times = self._times() if self.asks_hub else ServerTimes()
            self._last = self._reading(times)
        except LeaseError as exc:
            self._last = self._last.with_error(scrub(str(exc)))
        return self._last

    def _reading(self, times: ServerTimes) -> Reading:
        offset = self._offset.offset if self._offset is not None else 0.0
        reading = hub_reading(self.settings, times, self._clock() + offset)
        return replace(reading, clock_offset=offset)

    def _times(self) -> ServerTimes:
        response = self._call("GET", self._user_url())
        try:
            model = response.json()
        except ValueError:
            raise BadResponseError("the hub's user model is not JSON") from None
        return server_times(model, self.settings.server_name)

    # -- extending -----------------------------------------------------------------------------

    def extend(self, seconds: float, force: bool = False) -> Reading:
        """Record activity now: the idle culler counts from here (``seconds`` up to the cull
        timeout; the server then stays at least the timeout). Refused, sending nothing, for a
        duration outside that range or when the maximum age or a fixed run time comes first
        (``force`` changes nothing: activity cannot move those)."""
        timeout = self.settings.cull_timeout
        if not self.asks_hub or timeout is None:
            raise ExtendNotAllowedError(
                f"{self.name} cannot be extended here: the hub's idle-cull timeout is not known"
            )
        _check(seconds, timeout)
        current = self.read()
        if current.stale:
            return current
        if not current.can_extend and current.kind == "timed":  # activity cannot move these
            raise ExtendRefusedError(f"{self.name} stops first for {current.stop_reason}")
        now = self._clock() + (self._offset.offset if self._offset else 0.0)
        try:
            body = activity_body(self.settings, now)
            self._call("POST", self._user_url() + "/activity", json=body)
        except LeaseError as exc:
            self._last = self._last.with_error(f"recording activity failed: {scrub(str(exc))}")
            return self._last
        return self.read()

    # -- HTTP ----------------------------------------------------------------------------------

    def _user_url(self) -> str:
        return f"{self.settings.api_url}/users/{quote(self.settings.user, safe='')}"

    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"token {self.settings.token}"}
        sent = self._clock()
        try:
            response = self.session.request(
                method, url, headers=headers, timeout=TIMEOUT, allow_redirects=False, **kwargs
            )
        except Exception as exc:  # requests' own hierarchy; mapped, never leaked
            where = self.settings.api_url
            raise NetworkError(f"the hub at {where}: {type(exc).__name__}") from None
        self._observe(response.headers.get("Date"), sent, self._clock())
        status = response.status_code
        if status < 400:
            return response
        what = f"the hub answered {status} to {method} {url.rsplit('/hub/api', 1)[-1]}"
        if status == 401:
            raise AuthenticationError(f"{what}: the server's token was not accepted")
        if status == 403:
            raise PermissionDeniedError(f"{what}: the server's token may not do this")
        raise APIError(what)

    def _observe(self, date: Optional[str], sent: float, received: float) -> None:
        self._offset = observe_date(self._offset, date, sent, received)

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session


def _check(seconds: float, timeout: float) -> None:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise DurationError(f"extend takes seconds, not {type(seconds).__name__}")
    if not (math.isfinite(seconds) and 0 < seconds <= timeout):
        from datetime import timedelta

        from ..core.duration import format_duration

        most = format_duration(timedelta(seconds=timeout))
        raise DurationError(
            f"on this hub an extension restarts the idle clock: at most {most} "
            f"(the cull timeout) from now, not {seconds:g} s"
        )
