// jupyter_lease: the countdown's DOM. `build` makes the elements once (text only through
// textContent: nothing from a reading or a server ever goes through innerHTML); `look` says,
// purely, what they show for a presentation (present.js's derive) and the view's own state;
// `paint` applies a look, touching only what changed.

import { formatRemaining, oneLine } from "../../jupyter_lease/static/present.js";
import { stageWord } from "../../jupyter_lease/static/words.js";

/** @typedef {{__: (msgid: string, ...args: unknown[]) => string}} Bundle  src/i18n.ts's */

const SVG_NS = "http://www.w3.org/2000/svg";
const BELL_PATH =
  "M8 16a2 2 0 0 0 2-2H6a2 2 0 0 0 2 2zm5-5V7a5 5 0 0 0-4-4.9V1a1 1 0 0 0-2 0v1.1A5 5 0 0 0 " +
  "3 7v4l-1.3 1.3A.5.5 0 0 0 2 13h12a.5.5 0 0 0 .3-.7L13 11z";
const MESSAGE_SHOWN_MS = 60 * 1000; // an action's result line, then it is history
const PENDING_RETRY_MS = 60 * 1000; // a kernel-path Extend may wait for a long cell
const URGENT_STAGES = ["warning", "critical"];

function h(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function bell() {
  const svg = document.createElementNS(SVG_NS, "svg");
  for (const [k, v] of [["class", "jl-icon"], ["viewBox", "0 0 16 16"], ["width", "12"],
    ["height", "12"], ["aria-hidden", "true"]]) svg.setAttribute(k, v);
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", BELL_PATH);
  svg.append(path);
  return svg;
}

function button(className, text, title) {
  const el = h("button", className, text);
  el.type = "button";
  if (title) el.title = title;
  return el;
}

function buildRow(dom) {
  const row = h("div", "jl-row");
  const dot = h("span", "jl-dot");
  dot.setAttribute("aria-hidden", "true");
  dom.time = h("span", "jl-time");
  dom.time.setAttribute("role", "timer");
  dom.label = h("span", "jl-label");
  dom.meta = h("span", "jl-meta");
  dom.notify = button("jl-btn jl-btn-quiet jl-notify");
  dom.notifyText = h("span", "");
  dom.notify.append(bell(), dom.notifyText);
  dom.select = h("select", "jl-select");
  dom.extend = button("jl-btn jl-extend");
  dom.controls = h("span", "jl-controls");
  dom.controls.append(dom.select, dom.extend);
  row.append(dot, dom.time, dom.label, dom.meta, h("span", "jl-spacer"), dom.notify, dom.controls);
  return row;
}

/** The view's elements, appended to `el`, labelled in `t`'s language. */
export function build(el, t) {
  const dom = { root: h("div", "jl-countdown") };
  dom.root.setAttribute("role", "group");
  const row = buildRow(dom);
  const bar = h("div", "jl-bar");
  dom.bar = bar;
  dom.fill = h("div", "jl-fill");
  bar.append(dom.fill);
  dom.banner = h("div", "jl-banner");
  dom.banner.setAttribute("role", "alert");
  dom.bannerText = h("span", "jl-banner-text");
  dom.dismiss = button("jl-dismiss", "×");
  dom.banner.append(dom.bannerText, dom.dismiss);
  dom.errorLine = h("div", "jl-note jl-error");
  dom.messageLine = h("div", "jl-note jl-message");
  dom.keepAliveLine = h("div", "jl-note jl-keepalive");
  dom.root.append(row, bar, dom.banner, dom.errorLine, dom.messageLine, dom.keepAliveLine);
  el.append(dom.root);
  label(dom, t);
  return dom;
}

/** The words that stay put, in `t`'s language (again when the kernel's language changes). */
export function label(dom, t) {
  dom.root.setAttribute("aria-label", t.__("Notebook lease countdown"));
  dom.notify.title = t.__("Allow a browser notification when the lease is about to run out");
  dom.notifyText.textContent = t.__("notify me");
  dom.select.setAttribute("aria-label", t.__("Extend by"));
  dom.dismiss.title = t.__("Hide until the next warning");
}

/** The Extend choices, keeping the one picked (else `preferred`: c.JupyterLease.extend_default,
 * the panel's and the toast's default too) across updates. */
export function fillChoices(select, choices, preferred) {
  const current = select.value;
  select.replaceChildren(...choices.map((c) => h("option", "", c)));
  if (choices.includes(current)) select.value = current;
  else if (choices.includes(preferred)) select.value = preferred;
}

// -- what to show (pure) ----------------------------------------------------------------------

// The big number and the words after it: the presentation's headline, split where it starts
// with the time left ("1 h 05 min" + "left (last known)").
function timeAndLabel(p, lang) {
  if (p.stage === "stopped") return [stageWord("stopped", lang), p.headline];
  if (p.stage === "expired") return ["0:00", p.headline];
  if (p.stage === "unknown") return ["—", p.headline];
  if (p.remainingMs === null) return ["", p.headline]; // idle, off
  const time = formatRemaining(p.remainingMs / 1000, lang);
  const label = p.headline.startsWith(`${time} `) ? p.headline.slice(time.length + 1) : p.headline;
  return [time, label];
}

// The small print, and the error line for an error the small print does not carry.
function detailAndError(p, reading, t) {
  const error = oneLine(reading.error);
  const id = typeof reading.source_id === "string" ? reading.source_id : "";
  const detail = p.detail === error ? "" : p.detail;
  const meta = [detail, id ? t.__("notebook %1", id.slice(0, 8)) : ""].filter(Boolean);
  return {
    meta: meta.join(" · "),
    metaTitle: id ? t.__("notebook %1", id) : "",
    error: error && !detail.includes(error) ? error : "",
  };
}

function messageOf(ctx) {
  const { pending, note, busy, now, trans: t } = ctx;
  const viaKernel = pending !== null && pending.via === "kernel";
  if (viaKernel && !busy && now - pending.since > 3000) {
    return {
      message: t.__("Waiting for the kernel: the extension is sent when the running cell finishes"),
      tone: "info",
    };
  }
  const fresh = note !== null && now - note.at < MESSAGE_SHOWN_MS;
  return fresh ? { message: note.text, tone: note.tone } : { message: "", tone: "" };
}

function controlsOf(p, ctx) {
  const { reading, pending, busy, now } = ctx;
  const timed = reading.kind === "timed";
  const retryAllowed = pending !== null && pending.via === "kernel" && now - pending.since > PENDING_RETRY_MS;
  const waiting = busy || (pending !== null && !retryAllowed);
  return {
    // Only a timed lease has a deadline to move: Extend would turn an idle stop or auto-stop
    // that is off into a hard deadline, and an unknown lease may be either.
    canExtend: timed && reading.can_extend === true && p.stage !== "stopped",
    disabled: waiting,
    extendText: waiting ? ctx.trans.__("Extending…") : ctx.trans.__("Extend"),
    canAsk: ctx.notifications && timed && p.stage !== "stopped" && ctx.permission === "default",
  };
}

/**
 * Keep alive while busy, as the server extension sums it up ("kept alive while busy, until
 * 18:00 at the latest · renewed automatically at 14:02 — t.ipynb was running"), while it is on.
 * @param {{on: boolean, line: string}|null|undefined} keepAlive
 */
function keepAliveText(keepAlive) {
  return keepAlive && keepAlive.on === true ? oneLine(keepAlive.line) : "";
}

/**
 * What the view shows for presentation `p` and `ctx`: {reading, source, dismissed, pending,
 * note, busy, notifications, permission, now, keepAlive, lang, trans} (`trans`: a Bundle in
 * `lang`). The banner says what the toast says (present.js's warning), until dismissed.
 */
export function look(p, ctx) {
  const [time, label] = timeAndLabel(p, ctx.lang);
  const urgent = URGENT_STAGES.includes(p.stage);
  const banner = urgent && p.threshold !== null && ctx.dismissed !== p.threshold;
  return {
    stage: p.stage,
    stale: String(p.stale && p.stage !== "stopped"),
    source: ctx.source,
    time,
    label,
    ...detailAndError(p, ctx.reading, ctx.trans),
    fraction: p.progress,
    banner: banner ? p.warning ?? "" : "",
    title: urgent ? { remaining: p.remainingMs, text: formatRemaining(p.remainingMs / 1000, ctx.lang) } : null,
    ...messageOf(ctx),
    ...controlsOf(p, ctx),
    keepAlive: keepAliveText(ctx.keepAlive),
  };
}

// -- applying it ------------------------------------------------------------------------------

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function setHidden(el, hidden) {
  if (el.hidden !== hidden) el.hidden = hidden;
}

function setData(el, name, value) {
  if (el.dataset[name] !== value) el.dataset[name] = value;
}

function paintText(dom, lk) {
  setData(dom.root, "stage", lk.stage);
  setData(dom.root, "stale", lk.stale);
  setData(dom.root, "source", lk.source);
  setText(dom.time, lk.time);
  setHidden(dom.time, lk.time === "");
  setText(dom.label, lk.label);
  setText(dom.meta, lk.meta);
  if (dom.meta.title !== lk.metaTitle) dom.meta.title = lk.metaTitle;
  setHidden(dom.bar, lk.fraction === null);
  if (lk.fraction !== null) {
    const width = `${(Math.max(0, Math.min(1, lk.fraction)) * 100).toFixed(2)}%`;
    if (dom.fill.style.width !== width) dom.fill.style.width = width;
  }
  setHidden(dom.banner, lk.banner === "");
  setText(dom.bannerText, lk.banner);
}

function paintNotes(dom, lk) {
  setText(dom.errorLine, lk.error);
  setHidden(dom.errorLine, lk.error === "");
  setText(dom.messageLine, lk.message);
  setHidden(dom.messageLine, lk.message === "");
  setData(dom.messageLine, "tone", lk.tone);
  setHidden(dom.controls, !lk.canExtend);
  if (dom.extend.disabled !== lk.disabled) dom.extend.disabled = lk.disabled;
  if (dom.select.disabled !== lk.disabled) dom.select.disabled = lk.disabled;
  setText(dom.extend, lk.extendText);
  setHidden(dom.notify, !lk.canAsk);
  setText(dom.keepAliveLine, lk.keepAlive);
  setHidden(dom.keepAliveLine, lk.keepAlive === "");
}

/** Show look `lk` (from `look`) in the elements from `build`. */
export function paint(dom, lk) {
  paintText(dom, lk);
  paintNotes(dom, lk);
}
