"""The one definition of the defaults: configuration traits, CLI options and the JS take these.

``jupyter_lease.core`` exports them. They live outside the core package so that loading the
IPython extension can declare its traits without importing the core's dataclasses
(tests/test_core_present.py checks that the two spellings of the thresholds agree,
tests/test_present_parity.py that ``static/present.js`` has the same).
"""

from __future__ import annotations

from typing import Tuple

__all__ = [
    "DEFAULT_EXTEND_CHOICES",
    "DEFAULT_EXTEND_DEFAULT",
    "DEFAULT_WARN_AT",
    "DEFAULT_WARN_AT_S",
]

DEFAULT_WARN_AT_S: Tuple[float, ...] = (1800.0, 600.0, 300.0, 60.0)
DEFAULT_WARN_AT = "30m,10m,5m,1m"  # DEFAULT_WARN_AT_S as the durations people type
DEFAULT_EXTEND_CHOICES: Tuple[str, ...] = ("1h", "2h", "4h", "8h", "24h", "72h")
# What every Extend (the cell widget, the panel, the warning toast) offers first.
DEFAULT_EXTEND_DEFAULT = "1h"
