"""The environment variables that tests/conftest.py points at private directories, one set per
pytest process (each xdist worker): variable -> folder name under that process's root."""

from __future__ import annotations

HERMETIC_DIRS = {
    "HOME": "home",
    "JUPYTER_CONFIG_DIR": "jupyter-config",
    "JUPYTER_DATA_DIR": "jupyter-data",
    "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
    "IPYTHONDIR": "ipython",
    "JUPYTER_LEASE_CACHE_DIR": "lease-cache",
}

# The message locale, as gettext reads it (jupyter_lease.i18n): English for the suite whatever
# the developer's shell says; a test that wants Chinese sets LANG=zh_CN.UTF-8 for its process.
LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES")
ENGLISH = {"LANG": "C.UTF-8"}
