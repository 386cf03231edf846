"""Compile jupyter_lease's gettext catalogues: each
``jupyter_lease/locale/<lang>/LC_MESSAGES/jupyter_lease.po`` → ``.mo`` beside it (Python's
gettext: the CLI, ``%lease``, the widget's static text) and ``.json`` (JupyterLab's
translation system, in the format language packs ship: ``{"": {domain, language,
plural_forms, version}, msgid: [msgstr]}``).

``make i18n`` runs it; the compiled files are committed (a wheel needs no build step for them),
and ``tests/test_i18n.py`` checks they are what this makes from the ``.po`` now. Standard
library only, and byte for byte the same on every Python and machine: the ``.mo`` is written
as CPython's ``Tools/i18n/msgfmt.py`` writes it (no tool version in the header).
"""

from __future__ import annotations

import ast
import json
import re
import struct
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "jupyter_lease" / "locale"
DOMAIN = "jupyter_lease"


def catalogues() -> List[Path]:
    return sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def read_po(text: str) -> Dict[str, str]:
    """msgid → msgstr (the header under ""), without fuzzy or untranslated entries. The subset
    of the format this project writes: comments, ``#, fuzzy``, msgid/msgstr and continued
    strings."""
    messages: Dict[str, str] = {}
    entry: Dict[str, str] = {}
    field: Optional[str] = None
    fuzzy = next_fuzzy = False

    def flush() -> None:
        if "msgid" in entry and entry.get("msgstr") and not fuzzy:
            messages[entry["msgid"]] = entry["msgstr"]

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        match = re.match(r'(msgid|msgstr)\s+(".*")$', line)
        if line.startswith("#"):
            next_fuzzy = next_fuzzy or (line.startswith("#,") and "fuzzy" in line)
        elif match:
            if match.group(1) == "msgid":
                flush()
                entry, fuzzy, next_fuzzy = {}, next_fuzzy, False
            field = match.group(1)
            entry[field] = ast.literal_eval(match.group(2))
        elif line.startswith('"') and field is not None:
            entry[field] += ast.literal_eval(line)
        elif line:
            raise ValueError(f"line {number}: cannot read {raw!r}")
    flush()
    return messages


def write_mo(messages: Dict[str, str]) -> bytes:
    """GNU .mo, little endian, no hash table (as msgfmt.py)."""
    keys = sorted(messages)
    ids = strs = b""
    spans = []
    for key in keys:
        k, v = key.encode("utf-8"), messages[key].encode("utf-8")
        spans.append((len(ids), len(k), len(strs), len(v)))
        ids += k + b"\0"
        strs += v + b"\0"
    key_start = 7 * 4 + 16 * len(keys)
    value_start = key_start + len(ids)
    offsets: List[int] = []
    for o1, l1, _o2, _l2 in spans:
        offsets += [l1, o1 + key_start]
    for _o1, _l1, o2, l2 in spans:
        offsets += [l2, o2 + value_start]
    header = struct.pack("<Iiiiiii", 0x950412DE, 0, len(keys), 28, 28 + len(keys) * 8, 0, 0)
    return header + struct.pack(f"<{len(offsets)}i", *offsets) + ids + strs


def compiled(po: Path) -> Tuple[bytes, str]:
    """The ``.mo`` bytes and the ``.json`` text for one ``.po``."""
    messages = read_po(po.read_text(encoding="utf-8"))
    plural = re.search(r"^Plural-Forms:\s*(.*)$", messages.get("", ""), re.M)
    data: Dict[str, object] = {
        "": {
            "domain": DOMAIN,
            "language": po.parent.parent.name.replace("_", "-"),
            "plural_forms": plural.group(1).strip() if plural else "nplurals=2; plural=(n != 1);",
            "version": DOMAIN,
        }
    }
    data.update({k: [v] for k, v in messages.items() if k})
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    return write_mo(messages), text


def main() -> int:
    for po in catalogues():
        mo, text = compiled(po)
        po.with_suffix(".mo").write_bytes(mo)
        po.with_suffix(".json").write_text(text, encoding="utf-8")
        print(f"compiled {po.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
