"""Compile jupyter_lease's gettext catalogues: each
``jupyter_lease/locale/<lang>/LC_MESSAGES/jupyter_lease.po`` → ``.mo`` beside it (Python's
gettext: the CLI, ``%lease``, the widget's static text) and ``.json`` (JupyterLab's
translation system, in the format language packs ship: ``{"": {domain, language,
plural_forms, version}, msgid: [msgstr]}``).

``make i18n`` runs it; the compiled files are committed (a wheel needs no build step for them),
and ``tests/test_i18n.py`` checks they are what this makes from the ``.po`` now. Uses Babel
(a JupyterLab dependency, in the test extra); the package itself never imports it.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Dict, List, Tuple

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "jupyter_lease" / "locale"
DOMAIN = "jupyter_lease"


def catalogues() -> List[Path]:
    return sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def compiled(po: Path) -> Tuple[bytes, str]:
    """The ``.mo`` bytes and the ``.json`` text for one ``.po``."""
    with po.open("rb") as fh:
        catalog = read_po(fh, abort_invalid=True)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    language = po.parent.parent.name
    data: Dict[str, object] = {
        "": {
            "domain": DOMAIN,
            "language": language.replace("_", "-"),
            "plural_forms": catalog.plural_forms,
            "version": DOMAIN,
        }
    }
    for message in catalog:
        if message.id and message.string and not message.fuzzy:
            data[str(message.id)] = [str(message.string)]
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    return mo.getvalue(), text


def main() -> int:
    for po in catalogues():
        mo, text = compiled(po)
        po.with_suffix(".mo").write_bytes(mo)
        po.with_suffix(".json").write_text(text, encoding="utf-8")
        print(f"compiled {po.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
