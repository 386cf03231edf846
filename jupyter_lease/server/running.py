"""The running Jupyter servers on this machine, from their ``jpserver-*.json`` runtime files.

Discovery reads a server's ``base_url``, ``doctor`` its versions and ``jupyter lease busy`` its
URL; all three want the live servers, the one that started this process first.
"""

from __future__ import annotations

import glob
import json
import os
from typing import List, Mapping, Optional, Sequence, Tuple

__all__ = ["default_runtime_dir", "env_value", "running_servers"]


def env_value(environ: Mapping[str, str], name: str) -> Optional[str]:
    """``environ[name]`` stripped; ``None`` when unset or empty."""
    # Values exported from files often carry a trailing newline; empty means unset.
    value = environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def default_runtime_dir(environ: Mapping[str, str]) -> Optional[str]:
    if env_value(environ, "JUPYTER_RUNTIME_DIR"):
        return env_value(environ, "JUPYTER_RUNTIME_DIR")
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except Exception:  # jupyter_core missing or broken: there is simply no runtime dir
        return None
    try:
        return str(jupyter_runtime_dir())
    except Exception:
        return None


def running_servers(
    environ: Mapping[str, str], runtime_dir: Optional[str] = None, parent_pid: Optional[int] = None
) -> List[Tuple[str, dict]]:
    """``(path, info)`` of each live server: ``parent_pid``'s (default: our parent) first, then
    the most recently written. Empty when there is no runtime dir."""
    directory = runtime_dir or default_runtime_dir(environ)
    if not directory or not os.path.isdir(directory):
        return []
    parent = os.getppid() if parent_pid is None else parent_pid
    return _rank_server_files(_server_files(directory), parent)


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":
        # os.kill(pid, 0) *terminates* the process on Windows; assume alive instead.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def _server_files(runtime_dir: str) -> List[str]:
    # jpserver-*.json is jupyter_server; nbserver-*.json is the classic notebook server that
    # older ModelArts images may still run.
    names = glob.glob(os.path.join(runtime_dir, "jpserver-*.json"))
    names += glob.glob(os.path.join(runtime_dir, "nbserver-*.json"))
    return names


def _rank_server_files(paths: Sequence[str], parent_pid: int) -> List[Tuple[str, dict]]:
    """Live servers only, our parent process first, then the most recently written."""
    ranked: List[Tuple[int, float, str, dict]] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                info = json.load(fh)
            mtime = os.path.getmtime(path)
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict):
            continue
        pid = info.get("pid")
        if isinstance(pid, int) and not _pid_alive(pid):
            continue  # stale file left by a server that is gone
        rank = 0 if pid == parent_pid else 1
        ranked.append((rank, -mtime, path, info))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [(path, info) for _, _, path, info in ranked]
