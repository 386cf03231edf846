"""``static/present.js`` says exactly what ``jupyter_lease.core.present`` says.

The table of cases (``tests/support/present_cases.py``) goes to Node as JSON — each reading as
the browser gets it, ``Reading.to_json()`` — and each answer must match Python's field for field:
stage, headline, detail (in UTC and in a +05:30 zone), warning, and the numbers behind them.
Without ``node`` the test is skipped, except in CI (``$CI`` set), where it fails.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

import jupyter_lease
from jupyter_lease._errors import DurationError
from jupyter_lease.core import (
    DEFAULT_EXTEND_CHOICES,
    DEFAULT_WARN_AT_S,
    KINDS,
    STAGES,
    Reading,
    present,
)
from jupyter_lease.core.duration import parse_duration
from jupyter_lease.core.present import NEAR_END_S, format_remaining, short_text
from jupyter_lease.core.reading import JSON_VERSION
from jupyter_lease.core.words import SUBJECTS, WORDS, language_of
from tests.support.present_cases import DURATIONS, ZONES, Case, all_cases, to_fixture

PRESENT_JS = Path(jupyter_lease.__file__).parent / "static" / "present.js"
# Locale and page language tags each side maps onto its word tables.
TAGS = ["en", "", "zh", "zh_CN", "zh-CN", "zh_CN.UTF-8", "zh_CN.utf8@x", "zh-Hans-CN", "zh_SG"]
TAGS += ["zh_TW", "zh-TW", "C", "POSIX", "de_DE.UTF-8", "en_US"]

HARNESS = """
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const m = await import(pathToFileURL(process.argv[2]).href);
const cases = JSON.parse(readFileSync(process.argv[3], "utf8"));
const w = await import(new URL("words.js", pathToFileURL(process.argv[2])).href);
const results = cases.map((c) => m.derive(c.state, c.now_ms,
  { warnAt: c.warn_at ?? undefined, lang: c.lang }));
const garbage = [null, 7, "x", [], {}, { v: 2, kind: "timed" }, { v: 1, kind: "nope" },
  { v: 1, kind: "timed", deadline_ms: "soon" }, { v: 1, kind: "timed", deadline_ms: 1e300 },
  { v: 1, kind: "idle", idle_after_ms: NaN }];
const robust = garbage.map((g) => m.derive(g, NaN, { warnAt: ["x", -1, Infinity] }).stage);
const constants = { DEFAULT_WARN_AT_S: m.DEFAULT_WARN_AT_S, KINDS: m.KINDS, STAGES: m.STAGES,
  DEFAULT_EXTEND_CHOICES: m.DEFAULT_EXTEND_CHOICES, NEAR_END_S: m.NEAR_END_S,
  JSON_VERSION: m.JSON_VERSION, WORDS: w.WORDS, SUBJECTS: w.SUBJECTS };
const tags = JSON.parse(readFileSync(process.argv[4], "utf8"));
const languages = tags.map((t) => w.languageOf(t));
const durations = tags.map((t) => [59, 600, 3930, 183600].map((s) => m.formatRemaining(s, t)));
const short = results.map((p, i) => m.shortText(p, cases[i].lang));
const parsed = JSON.parse(readFileSync(process.argv[5], "utf8")).map(m.parseDuration);
console.log(JSON.stringify({ results, robust, constants, languages, durations, short, parsed }));
"""


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("the JS/Python parity test cannot run in CI: node is missing", False)
        pytest.skip("needs node (apt-get install nodejs)")
    return node


def _run_node(node: str, folder: Path, cases: List[Case], zone: str) -> Dict[str, Any]:
    (folder / "cases.json").write_text(json.dumps([to_fixture(c) for c in cases]))
    (folder / "harness.mjs").write_text(HARNESS)
    (folder / "tags.json").write_text(json.dumps(TAGS))
    (folder / "durations.json").write_text(json.dumps(DURATIONS))
    out = subprocess.run(
        [node, "harness.mjs", str(PRESENT_JS), "cases.json", "tags.json", "durations.json"],
        cwd=folder,
        env={**os.environ, "TZ": zone},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def _presentation(case: Case) -> Any:
    # The reading as it reaches a view: through its JSON, as the browser gets it.
    reading = Reading.from_json(json.loads(json.dumps(case.reading.to_json())))
    thresholds = DEFAULT_WARN_AT_S if case.warn_at is None else case.warn_at
    return present(reading, case.now_ms / 1000, thresholds, ZONES[case.zone], case.lang)


def _python(case: Case) -> Dict[str, Any]:
    p = _presentation(case)
    return {
        "stage": p.stage,
        "headline": p.headline,
        "detail": p.detail,
        "warning": p.warning,
        "stale": p.stale,
        "threshold": p.threshold,
        "remainingMs": None if p.remaining_s is None else round(p.remaining_s * 1000),
        "deadlineLocalMs": None if p.deadline_local is None else round(p.deadline_local * 1000),
        "progress": p.progress,
        "atLeast": p.at_least,
    }


def _same(js: Dict[str, Any], py: Dict[str, Any]) -> bool:
    for key, want in py.items():
        got = js.get(key)
        if isinstance(want, float) and isinstance(got, (int, float)):
            if not math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12):
                return False
        elif got != want:
            return False
    return True


def test_present_js_says_what_python_says(tmp_path: Path) -> None:
    node = _node()
    cases = all_cases()
    assert len(cases) > 1000
    for zone in ZONES:
        in_zone = [c for c in cases if c.zone == zone]
        got = _run_node(node, tmp_path, in_zone, zone)
        expected = [_python(case) for case in in_zone]
        wrong = [
            (case.name, js, py)
            for case, js, py in zip(in_zone, got["results"], expected)
            if not _same(js, py)
        ]
        assert not wrong, f"{len(wrong)} of {len(in_zone)} differ in {zone}, e.g. {wrong[:3]}"
        # Garbage never throws: whatever cannot be read is "unknown" (an idle lease of
        # unreadable length is still idle: "stops after a period idle").
        assert got["robust"] == ["unknown"] * 9 + ["idle"], got["robust"]
        assert got["constants"] == {
            "DEFAULT_WARN_AT_S": list(DEFAULT_WARN_AT_S),
            "KINDS": list(KINDS),
            "STAGES": list(STAGES),
            "DEFAULT_EXTEND_CHOICES": list(DEFAULT_EXTEND_CHOICES),
            "NEAR_END_S": NEAR_END_S,
            "JSON_VERSION": JSON_VERSION,
            "WORDS": WORDS,
            "SUBJECTS": SUBJECTS,
        }
        assert got["languages"] == [language_of(tag) for tag in TAGS]
        assert got["durations"] == [
            [format_remaining(s, tag) for s in (59, 600, 3930, 183600)] for tag in TAGS
        ]
        # The status bar's short form, from the same presentations, in each case's language.
        short = [short_text(_presentation(case), case.lang) for case in in_zone]
        assert got["short"] == short, [
            (c.name, js, py) for c, js, py in zip(in_zone, got["short"], short) if js != py
        ][:3]
        # The duration parser (settings, Extend): the same seconds, or refused by both.
        assert got["parsed"] == [_seconds(text) for text in DURATIONS]


def _seconds(text: str) -> Any:
    try:
        return parse_duration(text).total_seconds()
    except DurationError:
        return None


def test_the_chinese_half_is_in_chinese() -> None:
    """The parity holds in both languages only if the Chinese half is really Chinese."""
    cases = all_cases()
    chinese = [c for c in cases if c.lang == "zh_CN"]
    assert len(chinese) * 2 == len(cases)
    one = next(c for c in chinese if c.name == "3930000ms/None/0/False/UTC/zh_CN")
    assert _python(one)["headline"] == "剩余 1 小时 06 分"
    assert _python(one)["detail"] == "UTC 21:32:10 停止"
    english = ("left", "stops", "lease", "instance", "idle", "off")
    for case in chinese:
        shown = _python(case)
        words = f"{shown['headline']} {shown['warning'] or ''}"
        if case.reading.kind != "off":  # "off" shows the provider's own words
            assert not any(w in words for w in english), (case.name, words)
