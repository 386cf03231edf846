"""Every kernel the suite starts records jupyter_lease's log records at WARNING or above.

A kernel's normal life logs nothing that loud: in a real kernel such a record (a background
thread's, a cache problem's) is printed into the cell's stderr. An IPython startup file, written
into the suite's IPython dir by ``tests/conftest.py`` and into each ``KernelSession``'s own,
adds a handler to the ``jupyter_lease`` logger that appends each such record to a file of the
folder named by :data:`RECORDS_ENV` (then lets it print as before); the suite's autouse fixture
fails the test during which one appeared. Kernels of Python 3.7 read it too.
"""

from __future__ import annotations

import os
from typing import List

__all__ = ["RECORDS_ENV", "install", "take"]

# Not JUPYTER_LEASE_*: some tests start kernels with those variables filtered out.
RECORDS_ENV = "JL_TESTS_KERNEL_RECORDS"

STARTUP = """\
# Written by the jupyter_lease test suite (tests/support/kernel_records.py).
def _record_jupyter_lease_warnings():
    import logging
    import os

    folder = os.environ.get("__RECORDS_ENV__")
    if not folder:
        return
    path = os.path.join(folder, "kernel-%d.log" % os.getpid())

    class Recorder(logging.Handler):
        def emit(self, record):
            line = "%s %s: %s" % (record.levelname, record.name, record.getMessage())
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(line.replace("\\n", " ") + "\\n")
            if not logging.getLogger().handlers:  # printed as if this handler were not here
                logging.lastResort.handle(record)

    logging.getLogger("jupyter_lease").addHandler(Recorder(logging.WARNING))


_record_jupyter_lease_warnings()
del _record_jupyter_lease_warnings
""".replace("__RECORDS_ENV__", RECORDS_ENV)


def install(ipython_dir: str) -> None:
    """Write the startup file into ``ipython_dir``'s default profile."""
    startup = os.path.join(ipython_dir, "profile_default", "startup")
    os.makedirs(startup, exist_ok=True)
    with open(os.path.join(startup, "00-jupyter-lease-tests.py"), "w", encoding="utf-8") as fh:
        fh.write(STARTUP)


def take(folder: str) -> List[str]:
    """The records written into ``folder`` since the last call. Each file is renamed before it
    is read: a kernel's next record starts a new file instead of being lost."""
    lines: List[str] = []
    if not os.path.isdir(folder):
        return lines
    for name in sorted(os.listdir(folder)):
        if name.endswith(".taken"):
            continue
        path = os.path.join(folder, name)
        os.replace(path, path + ".taken")
        with open(path + ".taken", encoding="utf-8") as fh:
            lines += [line for line in fh.read().splitlines() if line]
        os.unlink(path + ".taken")
    return lines
