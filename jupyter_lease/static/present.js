// @ts-check
// jupyter_lease: the presentation of a lease reading, in the browser.
//
// Pure (no DOM, no fetch, no timers, no Date.now()): it mirrors jupyter_lease/core/present.py
// line for line, and tests/test_present_parity.py runs both on one table of cases. Any view
// (the cell widget, a JupyterLab status-bar item) imports it:
//
//     import { derive } from "./present.js";
//     const p = derive(readingJson, Date.now(), { warnAt, hostOffsetMs });
//     // p.stage, p.headline, p.detail, p.warning, p.remainingMs, ...
//
// Arithmetic is in whole milliseconds, so both sides agree to the millisecond. The words are
// words.js's, in the language `options.lang` names ("en", the default, or "zh_CN").

import { fill, subjectWord, wordsFor } from "./words.js";

/**
 * The JSON of `Reading.to_json()` (version 1); see jupyter_lease/core/reading.py.
 * @typedef {object} ReadingJSON
 * @property {number} v                       1
 * @property {string} kind                    timed | idle | off | stopped | unknown
 * @property {number|null} deadline_ms        the stop on the SOURCE's clock (epoch ms)
 * @property {number} clock_offset_ms         source clock - the serving host's clock (ms)
 * @property {number|null} read_at_ms         source clock at the last successful read
 * @property {number|null} started_at_ms      start of the current period (the bar's 0 %)
 * @property {number|null} idle_after_ms      idle: low use this long stops the instance
 * @property {boolean} stale                  the last read failed: this is the last known
 * @property {string|null} error              that failure, one line
 * @property {string} source                  the lease, for people
 * @property {string} source_id               the lease, as a key
 * @property {boolean} can_extend
 * @property {[number, number]|null} extend_range_ms
 * @property {string[]} extend_choices
 * @property {string} [off_label]           off: the provider's words ("no time limit"), or ""
 * @property {string} [subject]             what stops, in the provider's word ("job"), or ""
 * @property {boolean} [lower_bound]        the stop comes no earlier than the deadline
 * @property {string} [stop_reason]         why it stops then, in the provider's words, or ""
 */

/**
 * What to show. Times are on the browser's clock (the one `nowMs` was read from).
 * @typedef {object} Presentation
 * @property {string} stage             one of STAGES
 * @property {string} headline          "1 h 05 min left", "3:54 left", "auto-stop is off", ...
 * @property {string} detail            "stops 14:05:00 local (13:05:00 UTC)" [+ " · <error>"]
 * @property {string|null} warning      one line while urgent, else null
 * @property {number|null} remainingMs  timed: ms left, never negative
 * @property {number|null} deadlineLocalMs  timed: the stop, epoch ms on the browser's clock
 * @property {boolean} stale            counting from the last known reading
 * @property {number|null} threshold    the smallest warning threshold crossed (seconds)
 * @property {number|null} progress     0..1 of the current period left, when known
 * @property {boolean} atLeast          timed: the stop comes no earlier (a short view writes "≥")
 */

/**
 * @typedef {object} DeriveOptions
 * @property {number[]} [warnAt]        warning thresholds in seconds (default DEFAULT_WARN_AT_S)
 * @property {number} [hostOffsetMs]    the serving host's clock - the browser's (default 0)
 * @property {string} [lang]            the words' language: "en" (default), "zh_CN" (words.js)
 */

export const JSON_VERSION = 1;
export const DEFAULT_WARN_AT_S = Object.freeze([1800, 600, 300, 60]);
export const DEFAULT_EXTEND_CHOICES = Object.freeze(["1h", "2h", "4h", "8h", "24h", "72h"]);
export const NEAR_END_S = 600;
export const KINDS = Object.freeze(["timed", "idle", "off", "stopped", "unknown"]);
export const STAGES = Object.freeze([
  "plenty", "warning", "critical", "expired", "stopped", "idle", "off", "unknown",
]);
const URGENT = ["warning", "critical", "expired"];
const MAX_MS = 7258118400000; // beyond year 2200 either way: nothing a source says
const ERROR_LIMIT = 300;

/**
 * @param {number} n
 * @returns {string}
 */
const two = (n) => String(n).padStart(2, "0");

/**
 * Time left as people read it: "2 d 03 h", "1 h 05 min", "42 min", "4:59" (lang "zh_CN":
 * "2 天 03 小时", "1 小时 05 分", "42 分", "4:59").
 * @param {number} seconds
 * @param {string} [lang]
 * @returns {string}
 */
export function formatRemaining(seconds, lang) {
  if (!Number.isFinite(seconds)) return seconds < 0 ? "0:00" : "—"; // NaN is not < 0
  if (seconds < NEAR_END_S) {
    const whole = Math.max(0, Math.floor(seconds));
    return `${Math.floor(whole / 60)}:${two(whole % 60)}`;
  }
  const rounded = Math.floor(seconds / 60 + 0.5) * 60;
  const days = Math.floor(rounded / 86400);
  const hours = Math.floor((rounded % 86400) / 3600);
  const minutes = Math.floor((rounded % 3600) / 60);
  const said = wordsFor(lang);
  if (days) return fill(said.days, { d: String(days), h: two(hours) });
  if (hours) return fill(said.hours, { h: String(hours), m: two(minutes) });
  return fill(said.minutes, { m: String(minutes) });
}

const COUNTING = ["plenty", "warning", "critical"];

/**
 * The one-glance form (the status bar's): "⏳ 1 h 05 min", "⏳ ≥ 4:59" for a lower bound,
 * "⏳ 0:00" at the stop, else the headline; " · stale" when counting from the last known
 * reading; in `lang`'s words (words.js). Mirrors `core.present.short_text`.
 * @param {Presentation} p
 * @param {string} [lang]
 * @returns {string}
 */
export function shortText(p, lang) {
  const said = wordsFor(lang);
  let text;
  if (COUNTING.includes(p.stage) && p.remainingMs !== null) {
    text = `⏳ ${p.atLeast ? "≥ " : ""}${formatRemaining(p.remainingMs / 1000, lang)}`;
  } else if (p.stage === "expired") {
    text = "⏳ 0:00";
  } else {
    text = p.headline.replace(said.last_known, "");
  }
  return p.stale ? `${text} · ${said.stale}` : text;
}

const UNIT_S = { d: 86400, h: 3600, m: 60, s: 1 };
const UNIT_ALIASES = new Map(Object.entries({
  d: "d", day: "d", days: "d",
  h: "h", hr: "h", hrs: "h", hour: "h", hours: "h",
  m: "m", min: "m", mins: "m", minute: "m", minutes: "m",
  s: "s", sec: "s", secs: "s", second: "s", seconds: "s",
}));
const MAX_DURATION_S = 365 * 86400;

/**
 * "90m", "1h30m", "2h", "45s", "1d", "1.5h", "2 hours" in seconds; null for what
 * `core.duration.parse_duration` refuses (no unit, zero, negative, over a year, garbage).
 * @param {unknown} text
 * @returns {number|null}
 */
export function parseDuration(text) {
  if (typeof text !== "string") return null;
  const cleaned = text.trim().toLowerCase().replace(/,/g, " ");
  if (!/^(?:\d+(?:\.\d+)?\s*[a-z]+\s*)+$/.test(cleaned)) return null;
  let seconds = 0;
  for (const [, number, unit] of cleaned.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/g)) {
    const canonical = UNIT_ALIASES.get(unit);
    if (canonical === undefined) return null;
    seconds += Number(number) * UNIT_S[/** @type {"d"|"h"|"m"|"s"} */ (canonical)];
  }
  const bounded = seconds > 0 && Number.isFinite(seconds) && seconds <= MAX_DURATION_S;
  return bounded && Math.round(seconds * 1e6) > 0 ? seconds : null; // timedelta keeps µs
}

/**
 * Thresholds in seconds, largest first; the defaults when none is a positive finite number.
 * @param {unknown} values
 * @returns {number[]}
 */
export function thresholdsFrom(values) {
  const list = Array.isArray(values) ? values : [];
  const usable = list.filter((v) => typeof v === "number" && Number.isFinite(v) && v > 0);
  const out = [...new Set(usable)].sort((a, b) => b - a);
  return out.length ? out : [...DEFAULT_WARN_AT_S];
}

/**
 * The largest threshold starts "warning", the smallest "critical" (a single one: its last
 * minute). `thresholds` as from thresholdsFrom.
 * @param {number} remainingS
 * @param {number[]} thresholds
 * @returns {string}
 */
export function stageFor(remainingS, thresholds) {
  if (remainingS <= 0) return "expired";
  const last = thresholds[thresholds.length - 1];
  const critical = thresholds.length > 1 ? last : Math.min(last, 60);
  if (remainingS <= critical) return "critical";
  if (remainingS <= thresholds[0]) return "warning";
  return "plenty";
}

/**
 * Whole ms, or null for what is missing, not a number, or beyond year 2200 either way.
 * @param {unknown} v
 * @returns {number|null}
 */
function ms(v) {
  if (typeof v !== "number" || !Number.isFinite(v) || Math.abs(v) > MAX_MS) return null;
  return Math.round(v);
}

/**
 * One line of at most 300 characters (as `core.reading.one_line`, which also scrubs).
 * @param {unknown} text
 * @returns {string}
 */
export function oneLine(text) {
  if (typeof text !== "string") return "";
  const line = text.split(/\s+/).filter(Boolean).join(" ");
  return line.length <= ERROR_LIMIT ? line : `${line.slice(0, ERROR_LIMIT - 1)}…`;
}

/**
 * @param {string} stage
 * @param {string} headline
 * @param {string} detail
 * @param {boolean} stale
 * @returns {Presentation}
 */
function still(stage, headline, detail, stale) {
  return {
    stage, headline, detail, warning: null, remainingMs: null, deadlineLocalMs: null,
    stale, threshold: null, progress: null, atLeast: false,
  };
}

/**
 * What a reading looks like at `nowMs` (the browser's Date.now()). The deadline moves onto
 * the browser's clock here, once: deadline_ms - clock_offset_ms - hostOffsetMs. Never throws.
 * @param {Partial<ReadingJSON>|null|undefined} state
 * @param {number} nowMs
 * @param {DeriveOptions} [options]
 * @returns {Presentation}
 */
export function derive(state, nowMs, options = {}) {
  /** @type {Partial<ReadingJSON>} */
  const s = state && typeof state === "object" ? state : {};
  const stale = s.stale === true;
  let error = oneLine(s.error);
  let kind = typeof s.kind === "string" && KINDS.includes(s.kind) ? s.kind : "unknown";
  if (s.v !== JSON_VERSION) {
    kind = "unknown";
    error = `the lease reading has version ${String(s.v)}; this page reads ${JSON_VERSION}`;
  }
  const lang = options.lang;
  const said = wordsFor(lang);
  const lastKnown = stale ? said.last_known : "";
  if (kind === "stopped") {
    return still("stopped", fill(said.not_running, { subject: subject(s, lang) }), error, false);
  }
  if (kind === "off") {
    const words = oneLine(s.off_label).slice(0, 60) || said.off;
    return still("off", `${words}${lastKnown}`, error, stale);
  }
  if (kind === "idle") {
    const idle = ms(s.idle_after_ms);
    const after = idle ? formatRemaining(idle / 1000, lang) : said.a_period;
    return still("idle", fill(said.idle, { t: after }) + lastKnown, error, stale);
  }
  const deadline = ms(s.deadline_ms);
  const offset = ms(s.clock_offset_ms ?? 0);
  const host = ms(options.hostOffsetMs ?? 0);
  const now = ms(nowMs);
  if (kind !== "timed" || deadline === null || offset === null || host === null || now === null) {
    const neverRead = kind === "unknown" && s.read_at_ms == null && !(error || stale);
    const headline = neverRead ? said.checking : said.unknown;
    return still("unknown", headline, error, stale);
  }
  return timed(s, deadline - offset - host, now, thresholdsFrom(options.warnAt), error, lang);
}

/**
 * " — <why it stops then>" in the provider's words, cut as present.py cuts; or "".
 * @param {Partial<ReadingJSON>} s
 * @returns {string}
 */
function reason(s) {
  const words = oneLine(s.stop_reason).slice(0, 80);
  return words ? ` — ${words}` : "";
}

/**
 * What stops, in the provider's one word ("job"), cut as present.py cuts; "instance". In
 * `lang`'s word where words.js knows it ("作业").
 * @param {Partial<ReadingJSON>} s
 * @param {string} [lang]
 * @returns {string}
 */
function subject(s, lang) {
  return subjectWord(oneLine(s.subject).slice(0, 20) || "instance", lang);
}

/**
 * @param {Partial<ReadingJSON>} s
 * @param {number} localMs
 * @param {number} nowMs
 * @param {number[]} thresholds
 * @param {string} error
 * @param {string} [lang]
 * @returns {Presentation}
 */
function timed(s, localMs, nowMs, thresholds, error, lang) {
  const said = wordsFor(lang);
  const stale = s.stale === true;
  const remainingMs = Math.max(0, localMs - nowMs);
  const stage = stageFor(remainingMs / 1000, thresholds);
  // A lower bound (a culler's earliest stop) reads "at least 12 min left".
  const atLeast = s.lower_bound === true;
  const duration = formatRemaining(remainingMs / 1000, lang);
  const left = atLeast ? fill(said.at_least, { t: duration }) : duration;
  const at = when(localMs, nowMs, lang);
  const why = reason(s);
  const what = subject(s, lang);
  let headline;
  let detail;
  if (stage === "expired") {
    headline = fill(atLeast ? said.may_stop : said.run_out, { subject: what });
    detail = at ? fill(said.ran_out_at, { when: at }) + why : "";
  } else {
    headline = fill(said.left, { t: left }) + (stale ? said.last_known : "");
    detail = at ? fill(atLeast ? said.stops_no_earlier : said.stops_at, { when: at }) + why : "";
  }
  if (error) detail = detail ? `${detail} · ${error}` : error;
  const crossed = thresholds.filter((t) => remainingMs <= t * 1000);
  return {
    stage,
    headline,
    detail,
    warning: URGENT.includes(stage) ? fill(said.warning, { t: left, subject: what }) : null,
    remainingMs,
    deadlineLocalMs: localMs,
    stale,
    threshold: crossed.length ? crossed[crossed.length - 1] : null,
    progress: progress(s, remainingMs, thresholds),
    atLeast,
  };
}

/**
 * The period runs from the last renewal to the deadline (both on the source's clock); it is
 * at least as long as the first warning and as what is left.
 * @param {Partial<ReadingJSON>} s
 * @param {number} remainingMs
 * @param {number[]} thresholds
 * @returns {number|null}
 */
function progress(s, remainingMs, thresholds) {
  const start = ms(s.started_at_ms);
  const deadline = ms(s.deadline_ms);
  if (start === null || deadline === null) return null;
  const span = Math.max(deadline - start, thresholds[0] * 1000, remainingMs);
  return span > 0 ? remainingMs / span : 0;
}

/**
 * "14:05:00 local (13:05:00 UTC)"; "13:05:00 UTC" where local is UTC; the local date in
 * front when the stop is not today.
 * @param {number} localMs
 * @param {number} nowMs
 * @param {string} [lang]
 * @returns {string}
 */
function when(localMs, nowMs, lang) {
  const stop = new Date(localMs);
  const today = new Date(nowMs);
  if (Number.isNaN(stop.getTime()) || Number.isNaN(today.getTime())) return "";
  const sameDay =
    stop.getFullYear() === today.getFullYear() &&
    stop.getMonth() === today.getMonth() &&
    stop.getDate() === today.getDate();
  const day = sameDay
    ? ""
    : `${stop.getFullYear()}-${two(stop.getMonth() + 1)}-${two(stop.getDate())} `;
  const utc = `${two(stop.getUTCHours())}:${two(stop.getUTCMinutes())}:${two(stop.getUTCSeconds())}`;
  const said = wordsFor(lang);
  if (stop.getTimezoneOffset() === 0) return day + fill(said.utc, { utc });
  const local = `${two(stop.getHours())}:${two(stop.getMinutes())}:${two(stop.getSeconds())}`;
  return day + fill(said.local_utc, { local, utc });
}

/**
 * The reading to show: the later read wins, on the clock of the host that read it
 * (`read_at_ms − clock_offset_ms`; never read is oldest). The source's clock would not do: each
 * process measures its offset to it from 1-second `Date` headers, so a kernel's read made just
 * before an Extend could look later than the Extend's own read-back. At the same read time a
 * fresh one beats a stale one, else `b` (the one that arrived last). Mirrors
 * `core.reading.newer`.
 * @param {Partial<ReadingJSON>|null|undefined} a
 * @param {Partial<ReadingJSON>|null|undefined} b
 * @returns {Partial<ReadingJSON>|null|undefined}
 */
export function newer(a, b) {
  if (!a || typeof a !== "object") return b;
  if (!b || typeof b !== "object") return a;
  const at = (/** @type {Partial<ReadingJSON>} */ r) => {
    const read = ms(r.read_at_ms);
    return read === null ? -Infinity : read - (ms(r.clock_offset_ms) ?? 0);
  };
  if (at(a) !== at(b)) return at(a) > at(b) ? a : b;
  return b.stale === true && a.stale !== true ? a : b;
}
