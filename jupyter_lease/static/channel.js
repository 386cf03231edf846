// @ts-check
// jupyter_lease: the one channel between the views of one Jupyter server in one browser — the
// tabs of the server (src/tabs.ts: the status item's; where none runs, the cell widgets' page,
// src/widget/alone.ts). Each passes on what the server extension answered it (a GET, an
// Extend, a push) and takes what the others heard, so an Extend anywhere shows in every view of
// every tab within a second; the receiver keeps the newer reading (present.js's `newer`, by
// `read_at_ms`), as for its own answers.
//
// The message, JSON text, on the BroadcastChannel `jupyter-lease:<scope>` (without one: written
// to localStorage under `jupyter-lease:message:<scope>`, whose `storage` event reaches the other
// tabs, and sent as a window event to this page's other views):
//
//   {type: "answer", from, reading, hostOffsetMs, settings, keepAlive}
//     from          the sender's id (a tab's status item, or a page's widgets); it ignores its own
//     reading       Reading.to_json(), as the server extension served it
//     hostOffsetMs  the serving host's clock minus the browser's (ms; one browser, so valid in
//                   every tab), or null when the answer was too slow to measure it
//     settings      the server's c.JupyterLease as the item uses it, or null
//     keepAlive     the answer's `keep_alive` summary (server/busy.py), or null
//     notify        the answer's `notify`: the server-side alerts' last outcome (notify/sender.py,
//                   channels by scheme only, never a URL), or null
//
// `scope` is the server: the absolute URL of its base URL (scopeOf), so the tabs of another
// server on the same origin are not ours.
//
// A message is checked before anyone sees it (wellFormed, plausible): a reading of another
// shape, or one read more than READ_AT_SKEW_MS in the future of the receiver's clock (corrected
// by the offset to the host it knows), is dropped — one forged or buggy message must not win
// every later comparison by `read_at_ms` until reload.
//
// No imports, nothing runs on import: the status item and the cell widget's bundle
// (static/widget.js, src/widget/) both bundle this file.

const CHANNEL_PREFIX = "jupyter-lease";
const PAGE_EVENT = "jupyter-lease:answer";
const MAX_MEASURE_RTT_MS = 5000; // a slower answer says little about the clock offset
export const READ_AT_SKEW_MS = 5000; // a peer's read may be this far ahead of our clock
const READING_KINDS = ["timed", "idle", "off", "stopped", "unknown"]; // present.js's KINDS

/**
 * @typedef {object} ServerSettings
 * @property {number[]} warnAtMs
 * @property {string[]} extendChoices
 * @property {boolean} notifications
 * @property {string|null} extendDefault  what Extend offers first (c.JupyterLease.extend_default)
 */

/**
 * The server-side alerts' last outcome (jupyter_lease/notify/sender.py, `Sender.status`).
 * @typedef {object} NotifyStatus
 * @property {boolean} ok          false: the last send failed (or Apprise is missing)
 * @property {string|null} error   why, in one line of the server's (never a URL)
 * @property {number|null} at      when (epoch ms, the host's clock), null before any send
 * @property {string[]} channels   the channels by scheme only ("json://…")
 */

/**
 * What a view heard from the server extension, as views and tabs pass it on.
 * @typedef {object} Answer
 * @property {Partial<import("./present.js").ReadingJSON>} reading
 * @property {number|null} hostOffsetMs
 * @property {ServerSettings|null} settings
 * @property {{on: boolean, line: string}|null} keepAlive
 * @property {NotifyStatus|null} [notify] the server-side alerts' last outcome
 * @property {boolean} [push] the server pushes new readings (its own answers only)
 */

/**
 * The key of one Jupyter server: its base URL made absolute against the page's URL, or null.
 * @param {string|undefined} pageUrl   location.href
 * @param {unknown} baseUrl            the page config's `baseUrl` ("/user/me/")
 * @returns {string|null}
 */
export function scopeOf(pageUrl, baseUrl) {
  if (typeof baseUrl !== "string" || typeof pageUrl !== "string") return null;
  try {
    return new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`, pageUrl).href;
  } catch {
    return null;
  }
}

/** The localStorage key of the tabs' warning claims for `scope` (src/tabs.ts). */
export function claimsKey(/** @type {string} */ scope) {
  return `${CHANNEL_PREFIX}:claims:${scope}`;
}

/**
 * The server extension's `{reading, now_ms, settings, keep_alive}` as an Answer, or null when
 * it is not one. `sent`/`received`: Date.now() around the request (the offset's midpoint).
 * @param {unknown} body
 * @param {number} sent
 * @param {number} received
 * @returns {Answer|null}
 */
export function leaseAnswer(body, sent, received) {
  if (!body || typeof body !== "object") return null;
  const { reading, now_ms: nowMs, settings, keep_alive: keepAlive, notify } =
    /** @type {Record<string, unknown>} */ (body);
  if (!isObject(reading)) return null;
  const measured =
    typeof nowMs === "number" && Number.isFinite(nowMs) && received - sent <= MAX_MEASURE_RTT_MS;
  const raw = isObject(settings) ? /** @type {Record<string, unknown>} */ (settings) : {};
  const parsed = {
    warnAtMs: raw.warn_at_ms,
    extendChoices: raw.extend_choices,
    notifications: raw.notifications,
    extendDefault: raw.extend_default,
  };
  return {
    reading: /** @type {Answer["reading"]} */ (reading),
    hostOffsetMs: measured ? /** @type {number} */ (nowMs) - (sent + received) / 2 : null,
    settings: settingsOrNull(parsed),
    keepAlive: keepAliveOrNull(keepAlive),
    notify: notifyStatus(notify),
    push: /** @type {Record<string, unknown>} */ (body).push === true,
  };
}

/**
 * Whether a reading has the shape of Reading.to_json() (version 1), as far as any view relies
 * on it: a known kind, finite numbers (or null) where numbers go, booleans where flags go.
 * @param {unknown} r
 * @returns {boolean}
 */
export function wellFormed(r) {
  if (!isObject(r) || r.v !== 1 || !READING_KINDS.includes(r.kind)) return false;
  const numberOrNull = (/** @type {unknown} */ v) =>
    v === null || v === undefined || (typeof v === "number" && Number.isFinite(v));
  const numbers = ["deadline_ms", "clock_offset_ms", "read_at_ms", "started_at_ms", "idle_after_ms"];
  if (!numbers.every((name) => numberOrNull(r[name]))) return false;
  const flags = ["stale", "can_extend", "lower_bound"];
  if (!flags.every((name) => r[name] === undefined || typeof r[name] === "boolean")) return false;
  const choices = r.extend_choices;
  return choices === undefined || (Array.isArray(choices) && choices.every((c) => typeof c === "string"));
}

/**
 * Whether a peer's reading was read no later than `skewMs` after now: `read_at_ms` (the source's
 * clock) on the browser's clock is read_at_ms − clock_offset_ms − hostOffsetMs.
 * @param {Partial<import("./present.js").ReadingJSON>} r
 * @param {number} nowMs        the receiver's Date.now()
 * @param {number} hostOffsetMs the host's clock minus the receiver's, as the receiver knows it
 * @param {number} [skewMs]
 * @returns {boolean}
 */
export function plausible(r, nowMs, hostOffsetMs, skewMs = READ_AT_SKEW_MS) {
  if (typeof r.read_at_ms !== "number") return true; // never read: the oldest there is
  const local = r.read_at_ms - (r.clock_offset_ms ?? 0) - hostOffsetMs;
  return local <= nowMs + skewMs;
}

/**
 * Open the channel of `scope` as `from`: `onAnswer` hears the others' answers, once checked
 * (wellFormed, plausible against `hostOffsetMs()`: the receiver's offset to the host, where it
 * knows one; else the message's own). Returns `{post(answer), close()}`.
 * @param {string} scope
 * @param {string} from
 * @param {(answer: Answer) => void} onAnswer
 * @param {() => number|null} [hostOffsetMs]
 */
export function openChannel(scope, from, onAnswer, hostOffsetMs = () => null) {
  const key = `${CHANNEL_PREFIX}:message:${scope}`;
  const receive = (/** @type {unknown} */ raw) => {
    const answer = answerIn(raw, from);
    if (answer === null) return;
    const offset = hostOffsetMs() ?? answer.hostOffsetMs ?? 0;
    if (plausible(answer.reading, Date.now(), offset)) onAnswer(answer);
  };
  /** @type {BroadcastChannel|null} */
  let channel = null;
  try {
    channel = new BroadcastChannel(`${CHANNEL_PREFIX}:${scope}`);
    channel.onmessage = (event) => receive(event.data);
  } catch {
    channel = null; // older browsers: storage events, which other tabs get, and a page event
  }
  const onStorage = (/** @type {StorageEvent} */ e) => {
    if (e.key === key && e.newValue) receive(e.newValue);
  };
  const onPage = (/** @type {Event} */ e) => receive(/** @type {CustomEvent} */ (e).detail);
  if (channel === null) {
    globalThis.addEventListener("storage", onStorage);
    globalThis.addEventListener(PAGE_EVENT, onPage);
  }
  return {
    /** Tell every other view of the server what the server answered. */
    post(/** @type {Answer} */ answer) {
      const { reading, hostOffsetMs, settings, keepAlive } = answer;
      const notify = answer.notify ?? null;
      const message = { type: "answer", from, reading, hostOffsetMs, settings, keepAlive, notify };
      const text = JSON.stringify(message);
      if (channel !== null) {
        channel.postMessage(text);
        return;
      }
      try {
        localStorage.setItem(key, text);
      } catch {
        /* storage full or disabled: the other tabs see it at their next poll */
      }
      globalThis.dispatchEvent(new CustomEvent(PAGE_EVENT, { detail: text }));
    },
    close() {
      if (channel !== null) {
        channel.close();
        return;
      }
      globalThis.removeEventListener("storage", onStorage);
      globalThis.removeEventListener(PAGE_EVENT, onPage);
    },
  };
}

/**
 * The Answer in a message from another view, or null (ours, or not a message of this shape:
 * another version's, or anything else on the channel).
 * @param {unknown} raw
 * @param {string} self
 * @returns {Answer|null}
 */
function answerIn(raw, self) {
  let m;
  try {
    m = JSON.parse(String(raw));
  } catch {
    return null;
  }
  if (!isObject(m) || m.type !== "answer" || m.from === self || !wellFormed(m.reading)) return null;
  const offset = m.hostOffsetMs;
  return {
    reading: m.reading,
    hostOffsetMs: typeof offset === "number" && Number.isFinite(offset) ? offset : null,
    settings: settingsOrNull(m.settings),
    keepAlive: keepAliveOrNull(m.keepAlive),
    notify: notifyStatus(m.notify),
  };
}

/** @returns {ServerSettings|null} */
function settingsOrNull(/** @type {any} */ s) {
  if (!isObject(s)) return null;
  const numbers = Array.isArray(s.warnAtMs) && s.warnAtMs.every((v) => typeof v === "number");
  const texts =
    Array.isArray(s.extendChoices) && s.extendChoices.every((v) => typeof v === "string");
  if (!numbers || !texts || typeof s.notifications !== "boolean") return null;
  const extendDefault = typeof s.extendDefault === "string" ? s.extendDefault : null;
  return {
    warnAtMs: s.warnAtMs, extendChoices: s.extendChoices, notifications: s.notifications,
    extendDefault,
  };
}

/** @returns {{on: boolean, line: string}|null} */
function keepAliveOrNull(/** @type {any} */ k) {
  const ok = isObject(k) && typeof k.on === "boolean" && typeof k.line === "string";
  return ok ? /** @type {{on: boolean, line: string}} */ (k) : null;
}

/**
 * A `notify` field as a NotifyStatus, or null when it is not one (absent: no channels).
 * @param {unknown} n
 * @returns {NotifyStatus|null}
 */
export function notifyStatus(n) {
  if (!isObject(n) || typeof n.ok !== "boolean") return null;
  const channels = Array.isArray(n.channels) ? n.channels.filter((c) => typeof c === "string") : [];
  const at = typeof n.at === "number" && Number.isFinite(n.at) ? n.at : null;
  const error = typeof n.error === "string" ? n.error : null; // shown through oneLine
  return { ok: n.ok, error, at, channels };
}

/** @returns {v is Record<string, any>} */
function isObject(/** @type {unknown} */ v) {
  return Boolean(v) && typeof v === "object" && !Array.isArray(v);
}
