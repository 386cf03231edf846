"""The lease cache's file and directory, handled as if someone else were trying to fool us.

The cache lives in a directory that other users may reach (a shared ``JUPYTER_RUNTIME_DIR``, a
``/tmp`` path in ``JUPYTER_LEASE_CACHE_DIR``), so nothing found there is believed blindly:

- the directory must be ours and writable by no one else, neither every user (sticky
  ``/tmp``-like ones included) nor its group: another user could plant the file before we
  create it, or a FIFO at the lock (a keep-alive switched off for everyone), or a symlink;
- the file is opened without following a symlink and without blocking (a FIFO would block an
  ``open()`` for ever), then ``fstat``-ed: a regular file, ours, not group/other-writable,
  no bigger than :data:`MAX_BYTES`;
- writes create a private temp file next to it (``mkstemp``: ``O_EXCL``, mode 0600, never
  through a link) and ``os.replace`` it over the name, which replaces a planted link or FIFO
  instead of writing through it.

Anything refused raises :class:`UnsafeCache`, whose message is one line for a log. Ownership
and mode checks need POSIX; on Windows only the file type and size are checked.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from typing import Optional

__all__ = ["MAX_BYTES", "UnsafeCache", "check_dir", "prepare_dir", "read", "write"]

# A lease entry is ~400 bytes, ~1 KiB with a failure recorded (ModelArts' message is cut at
# 200 characters): 8 KiB is plenty and bounds what a reader ever loads.
MAX_BYTES = 8192

_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


class UnsafeCache(Exception):
    """The cache file or directory must not be used; ``str()`` says why, in one line."""


def _our_uid() -> Optional[int]:
    return os.geteuid() if hasattr(os, "geteuid") else None


def check_dir(path: str) -> None:
    """:class:`UnsafeCache` unless ``path`` is a directory we own that no other user (group or
    world) can write to.

    Links are followed here: a user may point the runtime dir elsewhere, and what matters is
    who can create entries in the directory reached. ``OSError`` if it cannot be examined.
    """
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeCache(f"{path} is not a directory")
    uid = _our_uid()
    if uid is not None and st.st_uid != uid:
        raise UnsafeCache(f"{path} belongs to uid {st.st_uid}, not to this user")
    if uid is not None and st.st_mode & stat.S_IWOTH:
        raise UnsafeCache(f"{path} is writable by every user")
    if uid is not None and st.st_mode & stat.S_IWGRP:  # a member could plant a FIFO or a file
        raise UnsafeCache(f"{path} is writable by its group: chmod g-w {path}")


def prepare_dir(path: str) -> None:
    """Create the directory (0700, like Jupyter's runtime dir) if needed, then check it."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    check_dir(path)


def _check_file(path: str, st: os.stat_result, limit: int = MAX_BYTES) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeCache(f"{path} is not a regular file")
    uid = _our_uid()
    if uid is not None and st.st_uid != uid:
        raise UnsafeCache(f"{path} belongs to uid {st.st_uid}, not to this user")
    if uid is not None and st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeCache(f"{path} is writable by other users")
    if st.st_size > limit:
        raise UnsafeCache(f"{path} is {st.st_size} bytes, more than {limit}")


def read(path: str, limit: int = MAX_BYTES) -> Optional[bytes]:
    """The file's bytes; ``None`` when there is no file. :class:`UnsafeCache` when it must not
    be believed (or is over ``limit`` bytes), ``OSError`` when it cannot be read."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):
            raise UnsafeCache(f"{path} is a symbolic link") from None
        raise
    try:
        _check_file(path, os.fstat(fd), limit)
        chunks, size = [], 0
        while size <= limit:  # a file growing after fstat still cannot make us read more
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise UnsafeCache(f"{path} grew past {limit} bytes while being read")
    return b"".join(chunks)


def write(path: str, data: bytes, limit: int = MAX_BYTES) -> None:
    """Atomically replace ``path`` with ``data`` (mode 0600) in a checked directory."""
    if len(data) > limit:  # never write what no reader would accept
        raise UnsafeCache(f"a {len(data)}-byte entry is more than {limit}")
    directory = os.path.dirname(path)
    prepare_dir(directory)
    fd, tmp = tempfile.mkstemp(prefix=".jupyter_lease-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
