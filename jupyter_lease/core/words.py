"""The words of :mod:`.present`, per language: English (the default) and Simplified Chinese.

``static/words.js`` holds the same table; ``tests/test_present_parity.py`` requires both tables
and both presentations to agree word for word. A template's ``{name}`` is filled by
:func:`fill` (values are never read as templates: a provider's words may hold braces).

Adding a language: a third entry here and in ``words.js``, and :func:`language_of` taught its
tag; ``docs/i18n.md`` says the rest.
"""

from __future__ import annotations

import re
from typing import Dict

__all__ = ["LANGUAGES", "WORDS", "fill", "language_of", "stage_word", "subject_word", "words"]

WORDS: Dict[str, Dict[str, str]] = {
    "en": {
        "days": "{d} d {h} h",
        "hours": "{h} h {m} min",
        "minutes": "{m} min",
        "left": "{t} left",
        "at_least": "at least {t}",
        "last_known": " (last known)",
        "stale": "stale",
        "not_running": "the {subject} is not running",
        "off": "auto-stop is off",
        "idle": "stops after {t} idle",
        "a_period": "a period",
        "checking": "checking the lease…",
        "unknown": "lease unknown",
        "may_stop": "the {subject} may stop any moment now",
        "run_out": "the lease has run out: the {subject} stops now",
        "ran_out_at": "ran out at {when}",
        "stops_at": "stops {when}",
        "stops_no_earlier": "stops no earlier than {when}",
        "warning": "{t} left before this {subject} stops — save your work or extend",
        "local_utc": "{local} local ({utc} UTC)",
        "utc": "{utc} UTC",
        "stage_plenty": "plenty",
        "stage_warning": "warning",
        "stage_critical": "critical",
        "stage_expired": "expired",
        "stage_stopped": "stopped",
        "stage_idle": "idle",
        "stage_off": "off",
        "stage_unknown": "unknown",
    },
    "zh_CN": {
        "days": "{d} 天 {h} 小时",
        "hours": "{h} 小时 {m} 分",
        "minutes": "{m} 分",
        "left": "剩余 {t}",
        "at_least": "{t}以上",
        "last_known": "（上次已知）",
        "stale": "已过时",
        "not_running": "{subject}未在运行",
        "off": "自动停止已关闭",
        "idle": "空闲 {t} 后停止",
        "a_period": "一段时间",
        "checking": "正在查询租约…",
        "unknown": "租约状态未知",
        "may_stop": "{subject}随时可能停止",
        "run_out": "租约已到期：{subject}正在停止",
        "ran_out_at": "已于 {when} 到期",
        "stops_at": "{when} 停止",
        "stops_no_earlier": "不早于 {when} 停止",
        "warning": "距{subject}停止还剩 {t}——请保存工作或延长租约",
        "local_utc": "本地 {local}（UTC {utc}）",
        "utc": "UTC {utc}",
        "stage_plenty": "充足",
        "stage_warning": "警告",
        "stage_critical": "紧急",
        "stage_expired": "已到期",
        "stage_stopped": "已停止",
        "stage_idle": "空闲",
        "stage_off": "已关闭",
        "stage_unknown": "未知",
    },
}
# What stops, in the providers' words ("job", "server"; "instance" by default), per language;
# a word not listed stays as the provider wrote it.
SUBJECTS: Dict[str, Dict[str, str]] = {
    "en": {},
    "zh_CN": {"instance": "实例", "job": "作业", "server": "服务器"},
}
LANGUAGES = tuple(WORDS)
_FIELD = re.compile(r"\{(\w+)\}")


def language_of(tag: object) -> str:
    """The table for a locale or page language tag: ``zh``, ``zh_CN``, ``zh-CN``,
    ``zh_CN.UTF-8``, ``zh-Hans``, ``zh_SG`` → ``zh_CN``; anything else (``zh_TW`` included:
    there is no Traditional table yet) → ``en``."""
    tag = re.split(r"[.@]", str(tag or ""))[0].replace("-", "_").lower()
    return "zh_CN" if tag in ("zh", "zh_cn", "zh_sg") or tag.startswith("zh_hans") else "en"


def words(lang: object = "en") -> Dict[str, str]:
    return WORDS[language_of(lang)]


def subject_word(subject: str, lang: object = "en") -> str:
    return SUBJECTS[language_of(lang)].get(subject, subject)


def stage_word(stage: str, lang: object = "en") -> str:
    """A stage (``core.STAGES``) as people read it: ``warning``, ``警告``; itself if unknown."""
    return words(lang).get(f"stage_{stage}", stage)


def fill(template: str, **values: str) -> str:
    """``{name}`` → ``values[name]``, once, left to right (as ``words.js`` does)."""
    return _FIELD.sub(lambda m: values[m.group(1)], template)
