"""``jupyter lease enable [--user | --sys-prefix]``: turn the server extension on where the
server's own environment cannot be written.

On ModelArts the JupyterLab server runs from a conda env under the read-only ``/modelarts`` tree,
so ``pip install --user jupyter_lease`` (with the server's Python) installs the package but not
the config file a wheel puts into ``{sys.prefix}/etc/jupyter``. This writes the same entry,
``{"ServerApp": {"jpserver_extensions": {"jupyter_lease": true}}}``, as
``jupyter_server_config.d/jupyter_lease.json`` in the user's Jupyter config dir (jupyter_core's
``jupyter_config_dir()``: ``$JUPYTER_CONFIG_DIR``, else ``~/.jupyter``) or, with
``--sys-prefix``, in this Python's ``{sys.prefix}/etc/jupyter``.

Idempotent. A file there that is not JSON, or that turns jupyter_lease off (someone chose to),
is refused in one line (exit 2) and left as it is.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, TextIO

from .._errors import ConfigurationError, UsageError

__all__ = ["config_file", "enable"]

NAME = "jupyter_lease"
FILE = os.path.join("jupyter_server_config.d", "jupyter_lease.json")


def config_file(scope: str) -> str:
    """The file ``enable`` writes for ``scope`` ("user" or "sys-prefix")."""
    if scope == "sys-prefix":
        return os.path.join(sys.prefix, "etc", "jupyter", FILE)
    try:
        from jupyter_core.paths import jupyter_config_dir
    except ImportError as exc:
        raise ConfigurationError(
            "finding the user's Jupyter config dir needs jupyter_core (pip install jupyter_core)"
        ) from exc
    return os.path.join(jupyter_config_dir(), FILE)


def _read(path: str) -> Dict[str, Any]:
    """What the file holds now ({} when there is none); refuses one we must not change."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.__class__.__name__}") from exc
    try:
        config = json.loads(text)
    except ValueError as exc:
        line = f"{path} is not JSON: fix or remove it, then run this again"
        raise ConfigurationError(line) from exc
    extensions = config.get("ServerApp", {}) if isinstance(config, dict) else None
    extensions = extensions.get("jpserver_extensions", {}) if isinstance(extensions, dict) else None
    if not isinstance(extensions, dict):
        raise ConfigurationError(
            f"{path} is not a ServerApp.jpserver_extensions file: fix or remove it, then run this"
            " again"
        )
    if extensions.get(NAME) is False:
        raise ConfigurationError(
            f"{path} turns {NAME} off (false): it stays off; remove that file to enable it here"
        )
    return config


def _write(path: str, config: Dict[str, Any]) -> None:
    """Whole or not at all: a reader (a starting server) never sees half a file."""
    folder = os.path.dirname(path)
    partial = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(folder, exist_ok=True)
        with open(partial, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(config, indent=2) + "\n")
        os.replace(partial, path)
    except OSError as exc:
        if os.path.exists(partial):
            os.unlink(partial)
        hint = "; try --user" if path.startswith(sys.prefix) else ""
        raise ConfigurationError(f"cannot write {path}: {exc.strerror or exc}{hint}") from exc


def enable(scope: str, out: TextIO) -> int:
    """Write the entry for ``scope`` unless it is there; say what happened and what is next."""
    if scope not in ("user", "sys-prefix"):
        raise UsageError(f"unknown target {scope!r}: --user or --sys-prefix")
    path = config_file(scope)
    config = _read(path)
    extensions = config.setdefault("ServerApp", {}).setdefault("jpserver_extensions", {})
    if extensions.get(NAME) is True:
        print(f"Already enabled in {path}; nothing written.", file=out)
    else:
        extensions[NAME] = True
        _write(path, config)
        print(f"Wrote {path}: {json.dumps(config)}", file=out)
    print(
        "Restart the Jupyter server to load it; `jupyter lease doctor` then shows the lease"
        " server extension enabled.",
        file=out,
    )
    return 0
