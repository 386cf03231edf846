"""An advisory, inter-process file lock with a timeout; no dependency beyond the stdlib.

POSIX uses ``fcntl.flock`` (the lock belongs to the open file description, so two threads of
one process that open the file separately exclude each other too); Windows uses
``msvcrt.locking`` on the first byte. Both are advisory: they only keep out processes that
ask for the same lock, which is all the lease cache needs.

The lock is taken on a dedicated ``*.lock`` file, never on the data file: the data file is
replaced atomically (``os.replace``), and a lock on a replaced inode would protect nothing.

A process-local ``threading.Lock`` per path is taken first, so the guarantee holds between
threads even where the OS lock is per process (e.g. ``flock`` emulated with ``fcntl``).
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from types import TracebackType
from typing import IO, Dict, Optional, Type

__all__ = ["FileLock", "LockTimeout"]

_POLL_MIN = 0.005  # first retry quickly: the cache lock is normally held for milliseconds
_POLL_MAX = 0.05

_THREAD_LOCKS: Dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


class LockTimeout(TimeoutError):
    """The lock was not acquired within the timeout."""


def _thread_lock(path: str) -> threading.Lock:
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(path, threading.Lock())


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, PermissionError):
            return False
        except OSError as exc:  # EWOULDBLOCK/EAGAIN spelled differently on some systems
            if exc.errno in (getattr(os, "EWOULDBLOCK", 11), getattr(os, "EAGAIN", 11)):
                return False
            raise
        return True

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class FileLock:
    """``with FileLock(path, timeout=5):`` — exclusive across processes and threads.

    Raises :class:`LockTimeout` when the lock is not free within ``timeout`` seconds, and
    ``OSError`` when the lock file cannot be opened (e.g. a read-only directory): callers
    decide whether to go on without it. Not re-entrant.
    """

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        self.path = os.path.abspath(path)
        self.timeout = timeout
        self._handle: Optional[IO[bytes]] = None
        self._thread_lock = _thread_lock(self.path)

    @property
    def locked(self) -> bool:
        return self._handle is not None

    def acquire(self, timeout: Optional[float] = None) -> FileLock:
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + max(0.0, wait)
        if not self._thread_lock.acquire(timeout=max(0.0, wait)):
            raise LockTimeout(f"timed out after {wait:.1f}s waiting for {self.path}")
        try:
            self._handle = self._acquire_file(deadline, wait)
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def _acquire_file(self, deadline: float, wait: float) -> IO[bytes]:
        handle = _open_lock_file(self.path)
        try:
            pause = _POLL_MIN
            while not _try_lock(handle):
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"timed out after {wait:.1f}s waiting for {self.path}")
                time.sleep(pause)
                pause = min(_POLL_MAX, pause * 2)
        except BaseException:
            handle.close()
            raise
        return handle

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            _unlock(handle)
        finally:
            handle.close()  # closing drops the OS lock even if unlocking failed
            self._thread_lock.release()

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.release()


_OPEN_FLAGS = (
    os.O_RDWR
    | os.O_CREAT
    | getattr(os, "O_NOFOLLOW", 0)  # a planted symlink must not make us create a file elsewhere
    | getattr(os, "O_NONBLOCK", 0)  # nor a planted FIFO block the open for ever
    | getattr(os, "O_CLOEXEC", 0)
)


def _open_lock_file(path: str) -> IO[bytes]:
    # O_CREAT without O_TRUNC: never disturb a file another process holds open. 0600: the
    # lock file says nothing secret, but nobody else has a reason to touch it either.
    fd = os.open(path, _OPEN_FLAGS, 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", path)
    return os.fdopen(fd, "r+b", buffering=0)
