"""``python -m jupyter_lease`` is ``jupyter lease``."""

import sys

from ._cli import main

sys.exit(main())
