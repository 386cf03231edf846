"""Words for people in the process's language: the ``jupyter_lease`` gettext domain.

The catalogue ships in the package (``locale/zh_CN/LC_MESSAGES/jupyter_lease.po``, compiled
to ``.mo`` for Python and to ``.json`` for JupyterLab's translation system, which finds it
through the ``jupyterlab.locale`` entry point). The language is the process's, chosen as
gettext chooses it: the first of ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is
set, ``zh_CN.UTF-8`` → ``zh_CN``; no catalogue for it (or ``C``) → English, the default.

``_(message)`` is that message in that language; :func:`language` names it for
:func:`jupyter_lease.core.present` (whose words are :mod:`jupyter_lease.core.words`', shared
with the browser). Errors keep their one line, in English or translated, never a traceback.
"""

from __future__ import annotations

import functools
import gettext
import json
import os
from typing import Any, Dict, Optional

from .core.words import language_of

__all__ = ["DOMAIN", "LOCALE_DIR", "_", "catalogue", "language"]

DOMAIN = "jupyter_lease"
LOCALE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locale")


def _catalogue() -> Optional[str]:
    """The ``.mo`` gettext would use for this process's locale, or None (English)."""
    try:
        return gettext.find(DOMAIN, LOCALE_DIR)
    except Exception:  # a malformed locale variable must never break a view
        return None


def language() -> str:
    """``zh_CN`` when the process's locale has the Chinese catalogue, else ``en``."""
    found = _catalogue()
    if found is None:
        return "en"
    # <LOCALE_DIR>/<lang>/LC_MESSAGES/jupyter_lease.mo
    return language_of(os.path.basename(os.path.dirname(os.path.dirname(found))))


def _(message: str, lang: Optional[str] = None) -> str:
    """``message`` in the process's language, or in ``lang`` ("zh_CN") when given; itself
    where there is no translation. gettext caches the parsed catalogue by path: a call costs
    a few ``stat``s."""
    languages = None if lang is None else [lang]
    try:
        found = gettext.translation(DOMAIN, LOCALE_DIR, languages, fallback=True)
        return found.gettext(message)
    except Exception:  # a damaged catalogue: English rather than a failing view
        return message


@functools.lru_cache(maxsize=8)
def _compiled(lang: str) -> Dict[str, Any]:
    path = os.path.join(LOCALE_DIR, lang, "LC_MESSAGES", f"{DOMAIN}.json")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):  # no catalogue for it (English), or a damaged one
        return {}
    return data if isinstance(data, dict) else {}


def catalogue(lang: str) -> Dict[str, Any]:
    """The ``lang`` catalogue as JupyterLab's translation system reads it (``msgid`` →
    ``[msgstr]``; the ``.json`` compiled from the ``.po``), for the cell widget, whose browser
    side has no translator of its own; ``{}`` for English or a language without one. The tag
    goes through :func:`language_of` first: only a language there is a table for names a file."""
    known = language_of(lang)
    return {} if known == "en" else dict(_compiled(known))
