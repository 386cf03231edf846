"""The newest lease view this server has built: what a GET answers at once.

Every view the service builds — a read (:meth:`~.service.LeaseService.lease`), the cache file
as another process left it (:meth:`~.service.LeaseService.cached_view`, the push's check), an
Extend's read-back — is remembered here with the ``stat`` stamp the shared cache file had just
after it was built. A GET then answers from memory (:meth:`~.service.LeaseService.answer`):

- the file's stamp is what it was: the remembered view is the newest reading anyone on this
  machine has; it is answered at once, and once the reading is due by the cache's schedule
  (judged in memory) a refresh starts behind it when the answer is written (at most one
  every :data:`REFRESH_EVERY_S`, one in flight);
- the file changed (another process wrote it, or it is gone), or another input of the view did
  (the keep-alive record, the alerts' last outcome: :meth:`~.service.LeaseService.stamp`): a
  refresh starts and the GET
  waits for it at most :data:`CHANGED_WAIT_S` (a read of the file takes milliseconds), else
  answers the remembered view (stale, with the error, if the refresh failed);
- nothing remembered yet (the server's very first read): the GET waits for the read, at most
  :data:`FIRST_READ_WAIT_S`.

Pure Python: no tornado, no jupyter_server (the push and the service use it alike).
"""

from __future__ import annotations

import functools
import math
import os
import threading
from typing import Any, Callable, Dict, Optional, Tuple, TypeVar

__all__ = [
    "CHANGED_WAIT_S",
    "FIRST_READ_WAIT_S",
    "REFRESH_EVERY_S",
    "Inputs",
    "Latest",
    "file_stamp",
]

# A refresh behind the GETs starts at most this often, however many tabs poll (the cache's
# schedule decides whether it reads upstream; another process's write shows at once).
REFRESH_EVERY_S = 1.0
# The cache file changed since the remembered view: the refresh reads it (no upstream call
# unless the file is gone), so a GET may wait this long for it, not longer.
CHANGED_WAIT_S = 0.2
# Nothing known at all (the server's first read): what a GET may wait for ModelArts.
FIRST_READ_WAIT_S = 10.0

Stamp = Optional[Tuple[int, int, int]]
# What a view was built from, as LeaseService.stamp() sees it: the cache file's stamp, then the
# view's other inputs (the keep-alive record's stamp, the alerts' last outcome).
Inputs = Tuple[Any, ...]
View = Dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])


def file_stamp(path: Optional[str]) -> Stamp:
    """``(inode, mtime ns, size)`` of the cache file, or None (no file, or no path)."""
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _read_at(view: View) -> float:
    """When the view's reading was read, on this host's clock (never read: oldest)."""
    reading = view.get("reading") or {}
    read_at, offset = reading.get("read_at_ms"), reading.get("clock_offset_ms") or 0
    if not isinstance(read_at, (int, float)) or not isinstance(offset, (int, float)):
        return -math.inf
    return float(read_at - offset)


class Latest:
    """The newest view and the cache file's stamp before it was built; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._view: Optional[View] = None
        self._stamp: Optional[Inputs] = None

    def remember(self, view: View, stamp: Optional[Inputs]) -> None:
        """Keep ``view`` unless its reading is older than the one kept (a slow read that
        finishes after an Extend's read-back must not bring back the old deadline)."""
        with self._lock:
            if self._view is not None and _read_at(view) < _read_at(self._view):
                return
            self._view, self._stamp = view, stamp

    def get(self) -> Tuple[Optional[View], Optional[Inputs]]:
        with self._lock:
            return self._view, self._stamp


def remembered(method: F) -> F:
    """A service method whose view (when not None) is remembered in ``self.latest``, with the
    cache file's stamp just after it was built (after its own write, if it wrote). Another
    process's write in the microseconds between is seen at the next refresh behind a GET."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        view = method(self, *args, **kwargs)
        if view is not None:
            self.latest.remember(view, self.stamp())
        return view

    return wrapper  # type: ignore[return-value]
