"""``python -m benchmarks``: see ``benchmarks/README.md``."""

from __future__ import annotations

from ._cli import main

raise SystemExit(main())
