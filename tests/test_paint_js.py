"""The cell widget's pure `look()` (src/widget/paint.js) under Node: what the view shows, from a
presentation and its context. The real-browser tests cover the painting end to end."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict

import pytest

import jupyter_lease

pytestmark = pytest.mark.node

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = Path(jupyter_lease.__file__).parent / "locale/zh_CN/LC_MESSAGES/jupyter_lease.json"
HARNESS = r"""
const { derive } = await import(process.argv[2]);
const { look } = await import(process.argv[3]);
const { readFileSync } = await import("node:fs");
// src/i18n.ts's bundles (that module is TypeScript): English fills %1; Chinese looks the msgid
// up in the catalogue the kernel syncs (the compiled .json) first.
const filled = (text, args) => text.replace(/%(\d+)/g, (w, n) => String(args[n - 1] ?? w));
const english = {__: (id, ...args) => filled(id, args)};
const catalogue = JSON.parse(readFileSync(process.argv[4], "utf-8"));
const chinese = {__: (id, ...args) => filled((catalogue[id] || [id])[0] || id, args)};
const NOW = 1780000000000;
const reading = {v: 1, kind: "timed", deadline_ms: NOW + 3 * 3600e3, clock_offset_ms: 0,
                 read_at_ms: NOW, stale: false, error: null, source: "ModelArts notebook 881ed162",
                 source_id: "881ed162", can_extend: true, extend_choices: ["1h"]};
const p = derive(reading, NOW, {warnAt: [1800]});
const ctx = (keepAlive) => ({reading, source: "server", dismissed: null, pending: null,
  note: null, busy: false, notifications: false, permission: "default", now: NOW, keepAlive,
  trans: english});
const urgent = derive(reading, NOW + 3 * 3600e3 - 100e3, {warnAt: [300, 60]});
const urgentZh = derive(reading, NOW + 3 * 3600e3 - 100e3, {warnAt: [300, 60], lang: "zh_CN"});
const waiting = {pending: {since: NOW - 5000, via: "kernel"}};
const line = "kept alive while busy, until 18:00 at the latest · " +
  "renewed automatically at 14:02 — t.ipynb was running";
console.log(JSON.stringify({
  on: look(p, ctx({on: true, line})).keepAlive,
  multiline: look(p, ctx({on: true, line: "kept\nalive"})).keepAlive,
  off: look(p, ctx({on: false, line: "off"})).keepAlive,
  none: look(p, ctx(null)).keepAlive,
  garbage: look(p, ctx({on: "yes", line: 7})).keepAlive,
  zh: look(derive(reading, NOW, {warnAt: [1800], lang: "zh_CN"}),
    {...ctx(null), ...waiting, lang: "zh_CN", trans: chinese}),
  en: look(p, {...ctx(null), ...waiting}),
  urgent: look(urgent, ctx(null)),
  urgentZh: look(urgentZh, {...ctx(null), lang: "zh_CN", trans: chinese}),
  dismissed: look(urgent, {...ctx(null), dismissed: urgent.threshold}),
}));
"""


@pytest.fixture(scope="module")
def shown(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    folder: Path = tmp_path_factory.mktemp("paint-js")
    present = Path(jupyter_lease.__file__).parent / "static" / "present.js"
    paint = ROOT / "src" / "widget" / "paint.js"
    (folder / "harness.mjs").write_text(HARNESS)
    out = subprocess.run(
        ["node", "harness.mjs", present.as_uri(), paint.as_uri(), str(CATALOGUE)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def test_the_widget_says_keep_alive_while_busy_is_on_and_what_it_renewed(shown) -> None:
    assert shown["on"].startswith("kept alive while busy, until 18:00 at the latest")
    assert shown["on"].endswith("renewed automatically at 14:02 — t.ipynb was running")
    assert shown["multiline"] == "kept alive"  # one line, whatever the server sent
    assert shown["off"] == shown["none"] == shown["garbage"] == ""  # nothing while it is off


def test_the_widget_speaks_the_kernels_language(shown) -> None:
    """The kernel's process locale (the widget's synced ``lang``) words the live countdown."""
    assert (shown["zh"]["time"], shown["en"]["time"]) == ("3 小时 00 分", "3 h 00 min")
    assert "剩余" in shown["zh"]["label"] or "剩余" in shown["zh"]["detail"], shown["zh"]


def test_the_widgets_own_words_are_in_the_kernels_language(shown) -> None:
    """Extend, the waiting line and the notebook's name in the kernel's catalogue (synced by the
    kernel: the widget's bundle has no JupyterLab translator); English without one."""
    zh, en = shown["zh"], shown["en"]
    assert (zh["extendText"], en["extendText"]) == ("正在延长…", "Extending…")  # waiting
    assert (shown["urgentZh"]["extendText"], shown["urgent"]["extendText"]) == ("延长", "Extend")
    assert zh["message"].startswith("正在等待内核") and en["message"].startswith("Waiting for")
    assert "笔记本 881ed162" in zh["meta"] and "notebook 881ed162" in en["meta"]


def test_the_banner_says_what_the_toast_says_until_dismissed(shown) -> None:
    """The banner is present.js's warning (the toast's words, the time left as the bar says it),
    in the kernel's language; hidden once dismissed for that threshold."""
    assert shown["urgent"]["banner"] == (
        "1:40 left before this instance stops — save your work or extend"
    )
    assert shown["urgentZh"]["banner"].startswith("距实例停止还剩 1:40")
    assert shown["dismissed"]["banner"] == ""
