"""Where the alert channels come from, and how they are shown without their secrets.

Three places, all used (a URL given twice is one channel):

- ``c.JupyterLease.notify_urls`` — a list of Apprise URLs in ``jupyter_server_config.py``;
- ``$JUPYTER_LEASE_NOTIFY`` — the same, space-separated;
- the user file ``<jupyter config dir>/jupyter_lease/notify.json`` (``{"urls": [...]}``, mode
  0600), which ``POST …/jupyter-lease/api/notify`` writes. It is read as a planted file would
  be (:mod:`..watch.cachefile`: no links, no FIFOs, ours only, size-capped).

An Apprise URL carries its secret (a webhook key, a token, a password) in its body, so a URL is
only ever shown as its scheme: ``json://…``. Nothing here puts a URL in a message.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = [
    "ENV",
    "INSTALL_LINE",
    "Channel",
    "Channels",
    "apprise_missing",
    "load_channels",
    "scheme_of",
    "user_file",
    "write_user_file",
]

ENV = "JUPYTER_LEASE_NOTIFY"
CONFIG = "c.JupyterLease.notify_urls"
MAX_FILE_BYTES = 16384
MAX_URLS = 20
MAX_URL_CHARS = 2048
INSTALL_LINE = (
    "server-side alerts are configured but Apprise is not installed: "
    "pip install 'jupyter_lease[notify]' and restart the server"
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]{0,31})://\S")


def scheme_of(url: str) -> Optional[str]:
    """``json`` for ``json://…``; None for anything that is not ``scheme://something``."""
    match = _SCHEME.match(url.strip())
    return match.group(1).lower() if match else None


@dataclass(frozen=True)
class Channel:
    url: str = field(repr=False)  # the secret: never shown, logged, answered, nor in a repr
    origin: str = ""  # where it was configured: notify_urls, $JUPYTER_LEASE_NOTIFY, the file

    @property
    def scheme(self) -> str:
        return scheme_of(self.url) or "?"

    @property
    def masked(self) -> str:
        return f"{self.scheme}://…"

    def public(self) -> Dict[str, str]:
        return {"scheme": self.scheme, "shown": self.masked, "from": self.origin}


@dataclass(frozen=True)
class Channels:
    channels: Tuple[Channel, ...] = ()
    problems: Tuple[str, ...] = ()  # one line each, never a URL

    @property
    def urls(self) -> List[str]:
        return [c.url for c in self.channels]

    def masked(self) -> str:
        return ", ".join(c.masked for c in self.channels) or "none"


def user_file(environ: Optional[Mapping[str, str]] = None) -> str:
    """``<jupyter config dir>/jupyter_lease/notify.json``."""
    env = os.environ if environ is None else environ
    base = env.get("JUPYTER_CONFIG_DIR")
    if not base:
        try:
            from jupyter_core.paths import jupyter_config_dir

            base = jupyter_config_dir()
        except Exception:  # jupyter_core missing: its default layout
            base = os.path.join(os.path.expanduser("~"), ".jupyter")
    return os.path.join(base, "jupyter_lease", "notify.json")


def load_channels(
    config_urls: Sequence[str] = (),
    environ: Optional[Mapping[str, str]] = None,
    path: Optional[str] = None,
) -> Channels:
    """Every configured channel, in the order config, environment, file; never raises."""
    env = os.environ if environ is None else environ
    problems: List[str] = []
    given: List[Tuple[str, str]] = [(u, CONFIG) for u in config_urls or ()]
    given += [(u, "$" + ENV) for u in env.get(ENV, "").split()]
    file_path = path or user_file(env)
    given += [(u, file_path) for u in _file_urls(file_path, problems)]
    channels: Dict[str, Channel] = {}
    for url, origin in given:
        url = str(url).strip()
        if not url or url in channels:
            continue
        if scheme_of(url) is None or len(url) > MAX_URL_CHARS:
            problems.append(
                f"a notify URL from {origin} is not an Apprise URL (scheme://…): ignored"
            )
        elif len(channels) >= MAX_URLS:
            problems.append(f"more than {MAX_URLS} notify URLs: the rest are ignored")
            break
        else:
            channels[url] = Channel(url, origin)
    return Channels(tuple(channels.values()), tuple(dict.fromkeys(problems)))


def _file_urls(path: str, problems: List[str]) -> List[str]:
    from ..watch import cachefile

    try:
        raw = cachefile.read(path, MAX_FILE_BYTES)
        if raw is None:
            return []
        data = json.loads(raw.decode("utf-8"))
        urls = data.get("urls") if isinstance(data, dict) else None
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise ValueError("no list of URLs")
        return urls
    except cachefile.UnsafeCache as exc:
        problems.append(f"{exc}: ignored")
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError included
        problems.append(f"{path} is not usable ({type(exc).__name__}): ignored")
    return []


def write_user_file(urls: Sequence[str], path: Optional[str] = None) -> str:
    """Replace the user file with ``urls`` (mode 0600, atomically); ``ValueError`` (one line,
    no URL) for a URL that is not ``scheme://…``. Returns the path."""
    from ..watch import cachefile

    clean = list(dict.fromkeys(str(u).strip() for u in urls if str(u).strip()))
    for number, url in enumerate(clean, 1):
        if scheme_of(url) is None or len(url) > MAX_URL_CHARS:
            raise ValueError(f"URL {number} is not an Apprise URL (scheme://…)")
    if len(clean) > MAX_URLS:
        raise ValueError(f"at most {MAX_URLS} URLs")
    target = path or user_file()
    data = json.dumps({"urls": clean}, indent=1).encode("utf-8")
    cachefile.write(target, data, MAX_FILE_BYTES)  # UnsafeCache: the caller's one line
    return target


def apprise_missing() -> Optional[str]:
    """:data:`INSTALL_LINE` when Apprise cannot be imported, else None (nothing imported)."""
    try:
        found = importlib.util.find_spec("apprise") is not None
    except (ImportError, ValueError):
        found = False
    return None if found else INSTALL_LINE
