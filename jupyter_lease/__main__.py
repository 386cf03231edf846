"""``python -m jupyter_lease`` is ``jupyter lease``."""

import sys

from .cli.main import main

sys.exit(main())
