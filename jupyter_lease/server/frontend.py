"""What the browser's views take from the server's ``c.JupyterLease``: served with every lease.

``GET …/jupyter-lease/api/lease`` answers ``{reading, now_ms, keep_alive, settings}``;
``settings`` is :func:`frontend_settings`' dict:

    warn_at_ms       [1800000, 600000, …]  the thresholds, largest first (``warn_at``)
    extend_choices   ["1h", "2h", …]       what Extend offers (``extend_choices``)
    notifications    true                  system notifications at thresholds (``notifications``)
    extend_default   "1h"                  what Extend offers first (``extend_default``)

The status item uses these unless the user's JupyterLab settings say otherwise. They are read
and checked once, when the extension loads: a value that cannot work is one WARNING line in the
server log and the default instead (a page must never get a threshold it cannot use): the
traits check them (:mod:`jupyter_lease.settings`).
"""

from __future__ import annotations

import logging
from typing import Any, Dict

from ..settings import JupyterLease, drop_bad_settings, resolve

__all__ = ["frontend_settings", "frontend_view"]


def frontend_settings(parent: Any, log: logging.Logger) -> Dict[str, Any]:
    """``c.JupyterLease`` (from ``parent``'s config) as the page's settings. A value its trait
    refuses is dropped first, with one WARNING line naming it (the loader has done so already
    for the server's config: then nothing is left to drop)."""
    drop_bad_settings(parent.config, log.warning)
    return frontend_view(resolve(JupyterLease(parent=parent)))


def frontend_view(settings: Any) -> Dict[str, Any]:
    """The page's part of the resolved settings (``jupyter_lease.settings.resolve``)."""
    return {
        "warn_at_ms": list(settings.warn_at_ms),
        "extend_choices": list(settings.extend_choices),
        "notifications": settings.notifications,
        "extend_default": settings.extend_default,
    }
