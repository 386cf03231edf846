"""Chinese (zh_CN) through gettext: the ``jupyter_lease`` domain's catalogue ships in the package,
the process's locale picks it (``LANGUAGE``/``LC_ALL``/``LC_MESSAGES``/``LANG``, as gettext
does), and the CLI, ``%lease`` and the widget's static text speak it; English stays the default
and errors keep their one line. The countdown's words themselves are core/words.py's
(tests/test_present_parity.py holds Python and the browser to the same words).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Dict, Set

import pytest

import jupyter_lease
from jupyter_lease.core.reading import Reading
from jupyter_lease.i18n import DOMAIN, LOCALE_DIR, _, language
from jupyter_lease.kernel.widget import CountdownWidget, render_html, render_text
from tests.support.cli import assert_one_line_error, run
from tests.support.hermetic import LOCALE_VARS
from tests.support.kernel_helpers import KernelSession
from tests.support.present_cases import NOW_MS, timed

ROOT = Path(__file__).resolve().parent.parent
PO = Path(LOCALE_DIR, "zh_CN", "LC_MESSAGES", f"{DOMAIN}.po")
CHINESE = {"LANG": "zh_CN.UTF-8"}
# Marked where the text is not a literal: ModelArts' setting names, capitalised (status rows).
DYNAMIC = {"Notebook id", "Project id", "Endpoint", "Credentials"}
PY_MARK = re.compile(r'\b_\(\s*"((?:[^"\\]|\\.)*)"\s*\)')
# trans.__('…') in the lab extension; t.__("…") / ctx.trans.__("…") in the widget's paint.js
TS_MARK = re.compile(r"""\b(?:trans|t)\.__\(\s*(['"])((?:(?!\1)[^\\]|\\.)*)\1""")


def _catalogue_module():
    spec = importlib.util.spec_from_file_location("catalogue", ROOT / "ci" / "catalogue.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _marked() -> Set[str]:
    found = set(DYNAMIC)
    for path in Path(jupyter_lease.__file__).parent.rglob("*.py"):
        found.update(PY_MARK.findall(path.read_text(encoding="utf-8")))
    for path in (*(ROOT / "src").rglob("*.ts"), *(ROOT / "src").rglob("*.js")):
        marks = TS_MARK.findall(path.read_text("utf-8"))
        found.update(m.replace("\\'", "'").replace('\\"', '"') for _q, m in marks)
    return found


def _translations() -> Dict[str, str]:
    return _catalogue_module().read_po(PO.read_text(encoding="utf-8"))


def test_every_marked_string_has_a_chinese_translation() -> None:
    marked, translated = _marked(), _translations()
    assert len(marked) > 30
    missing = sorted(m for m in marked if not translated.get(m))
    assert not missing, f"not in {PO.relative_to(ROOT)}: {missing}"
    # Placeholders survive translation: {name} for Python, %1 for JupyterLab's trans.__.
    for msgid, msgstr in translated.items():
        if not msgid:
            continue  # the header
        fields = sorted(re.findall(r"\{\w+\}|%\d", msgid))
        assert fields == sorted(re.findall(r"\{\w+\}|%\d", msgstr)), (msgid, msgstr)


def test_the_committed_mo_and_json_are_compiled_from_the_po() -> None:
    mo, text = _catalogue_module().compiled(PO)
    assert PO.with_suffix(".mo").read_bytes() == mo, "run `make i18n`"
    assert PO.with_suffix(".json").read_text(encoding="utf-8") == text, "run `make i18n`"
    data = json.loads(text)  # the format of a language pack's <domain>.json
    assert data[""]["domain"] == "jupyter_lease" and data[""]["language"] == "zh-CN"
    assert data["Left"] == ["时间"]


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
        ({"LANG": "zh_CN"}, "zh_CN"),
        ({"LANG": "C.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh_CN"),
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"),  # LC_ALL wins over LANG
        ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),
        ({"LANG": "C", "LANGUAGE": "de:zh_CN"}, "zh_CN"),  # the first with a catalogue
        ({"LANG": "zh_TW.UTF-8"}, "en"),  # no Traditional catalogue: English
        ({"LANG": "de_DE.UTF-8"}, "en"),
    ],
)
def test_the_language_is_the_process_locale_as_gettext_reads_it(monkeypatch, env, expected):
    for name in (*LOCALE_VARS, "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert language() == expected
    assert _("Left") == ("时间" if expected == "zh_CN" else "Left")


def test_the_widget_static_text_in_chinese() -> None:
    state = {"reading": timed(65 * 60_000).to_json()}
    text = render_text(state, NOW_MS, lang="zh_CN")
    assert text.startswith("jupyter_lease: 剩余 1 小时 05 分（截至 UTC 20:26:40）")
    assert text.endswith("[充足]")
    assert render_text(state, NOW_MS, lang="en").endswith("[plenty]")
    html = render_html({"reading": Reading("off").to_json()}, NOW_MS, lang="zh_CN")
    assert "自动停止已关闭" in html and "[已关闭]" in html


def test_the_live_widget_is_told_the_kernels_language(monkeypatch) -> None:
    """The widget's synced ``lang`` is the process locale: the browser words the live
    countdown in it (tests/test_paint_js.py shows the words)."""
    for name in (*LOCALE_VARS, "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    chinese = CountdownWidget()
    # ... and its catalogue, for the view's own words (Extend, the banner, notify me)
    assert chinese.lang == "zh_CN" and chinese.catalogue["Extend"] == ["延长"]
    monkeypatch.setenv("LANG", "C.UTF-8")
    english = CountdownWidget()
    assert english.lang == "en" and english.catalogue == {}
    english.lang = "zh_CN"
    assert english.catalogue["Extend"] == ["延长"]
    english.lang = "../../etc"  # a language is a name, never a path
    assert english.catalogue == {}
    english.lang = "zh-Hans"  # any tag of a language there is a table for
    assert english.catalogue["Extend"] == ["延长"]


def test_cli_status_speaks_chinese_under_a_chinese_locale(simulator) -> None:
    simulator.set_lease(remaining=3900)
    proc = run(["status"], simulator, env_overrides=CHINESE)
    assert proc.returncode == 0, proc.stderr
    assert "TIMING, 剩余 1 小时 05 分" in proc.stdout, proc.stdout
    assert "来自 JUPYTER_LEASE_NOTEBOOK_ID" in proc.stdout
    assert re.search(r"\n笔记本 +\S", proc.stdout), proc.stdout
    # The stop in this machine's zone (and UTC), dated when it falls on another day.
    stop = r"\n +(\d{4}-\d\d-\d\d )?(UTC |本地 \d\d:\d\d:\d\d（UTC )\d\d:\d\d:\d\d）? 停止"
    assert re.search(stop, proc.stdout), proc.stdout
    english = run(["status"], simulator)  # the suite's LANG=C.UTF-8 (tests/conftest.py)
    assert "TIMING, 1 h 05 min left" in english.stdout, english.stdout


def test_cli_extend_in_chinese_and_its_errors_stay_one_line(simulator) -> None:
    simulator.set_lease(remaining=1800)
    proc = run(["extend", "2h"], simulator, env_overrides=CHINESE)
    assert proc.returncode == 0, proc.stderr
    assert "已延长：剩余 2 小时 00 分。" in proc.stdout, proc.stdout
    assert_one_line_error(run(["extend", "soon"], simulator, env_overrides=CHINESE), 2)
    assert_one_line_error(run(["status"], None, env_overrides=CHINESE), 2)


@pytest.mark.kernel
def test_percent_lease_in_chinese(simulator) -> None:
    env = {**os.environ, **simulator.environ(), **CHINESE}
    simulator.set_lease(remaining=3900)
    with KernelSession(env=env) as kernel:
        kernel.execute("%load_ext jupyter_lease")
        result = kernel.execute("%lease")
        text = "\n".join(
            m.content["data"].get("text/plain", "")
            for m in result.messages
            if m.msg_type in ("display_data", "execute_result")
        )
        assert "TIMING, 剩余 1 小时 05 分" in text, text
        assert "未在监视（用 %lease watch 开始）" in text, text
        out = kernel.execute("%lease stop").stdout
        assert "未在监视。" in out, out
