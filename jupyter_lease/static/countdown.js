// jupyter_lease countdown view (anywidget ESM): the wiring of derive, paint and effects.
//
// The browser ticks the countdown itself: the kernel syncs `reading` (Reading.to_json, the
// deadline on the source's clock with the clock offset beside it) only when it has news, so
// the display stays right while a cell keeps the kernel busy. The Jupyter server extension
// serves the same JSON (see effects.js); each tick shows the newest of the two readings by its
// read time (present.js's `newer`), words it with `derive`, and paints it.
//
// Thresholds (`warn_at_s`) are crossed on the browser's own timer: once per deadline (re-armed
// when the deadline moves later), each shows a banner, prefixes the tab title with the time
// left, and raises a browser Notification when allowed.
//
// kernel/widget.py inlines present.js, channel.js, paint.js, effects.js and alerts.js before
// this file (anywidget's `_esm` is one string), so their local imports below are removed there.

import { derive, newer, oneLine, thresholdsFrom } from "./present.js";
import { build, fillChoices, formatThreshold, look, paint } from "./paint.js";
import {
  anchorOnKernel,
  fetchLease,
  maybeMeasureClock,
  onTick,
  refreshDue,
  requestExtend,
  shared,
} from "./effects.js";
import { newlyCrossed, notify, setTitle } from "./alerts.js";

const VISIBLE_REFRESH_MS = 5000; // a tab shown again refreshes unless it just did

// The reading to show: the kernel's or the server extension's (unless that is another lease's),
// whichever was read last.
function shownReading(model) {
  const own = model.get("reading") || {};
  const answer = shared.server.answer;
  const theirs = answer ? answer.reading : null;
  const ownId = typeof own.source_id === "string" ? own.source_id : "";
  if (!theirs || (ownId && theirs.source_id && theirs.source_id !== ownId)) {
    return { reading: own, source: "kernel" };
  }
  const reading = newer(own, theirs);
  return { reading, source: reading === theirs ? "server" : "kernel" };
}

function presentation(view, reading) {
  const options = { warnAt: view.model.get("warn_at_s"), hostOffsetMs: shared.clock.offset };
  return derive(reading, Date.now(), options);
}

function noteFor(reading, p, threshold) {
  const id = typeof reading.source_id === "string" ? reading.source_id : "";
  const at = p.detail ? ` ${p.detail}` : " stops soon";
  return {
    title: `⏳ ${formatThreshold(threshold)} left — jupyter_lease`,
    body: `This notebook instance${id ? ` (${id.slice(0, 8)})` : ""}${at}. ` +
      "Save your work or extend the lease.",
    tag: `jupyter-lease-${id}`,
    urgent: threshold <= 60,
  };
}

function warnIfCrossed(view, reading, p) {
  if (p.threshold === null || !(p.remainingMs > 0)) return;
  const warnAt = thresholdsFrom(view.model.get("warn_at_s"));
  const id = typeof reading.source_id === "string" ? reading.source_id : "";
  const crossed = newlyCrossed(id, reading.deadline_ms, p.remainingMs, warnAt);
  if (crossed === null) return;
  view.dismissed = null;
  if (view.model.get("notifications")) notify(noteFor(reading, p, crossed));
}

function contextOf(view, reading, source) {
  return {
    reading,
    source,
    dismissed: view.dismissed,
    pending: view.pending,
    note: view.note,
    busy: Boolean(view.model.get("busy")),
    notifications: Boolean(view.model.get("notifications")),
    permission: typeof Notification === "undefined" ? "unsupported" : Notification.permission,
    now: Date.now(),
    keepAlive: shared.server.answer ? shared.server.answer.keepAlive : null,
  };
}

function tick(view) {
  if (view.disposed) return;
  maybeMeasureClock();
  if (refreshDue()) fetchLease().catch(() => {});
  const { reading, source } = shownReading(view.model);
  const p = presentation(view, reading);
  view.shown = p;
  warnIfCrossed(view, reading, p);
  const lk = look(p, contextOf(view, reading, source));
  paint(view.dom, lk);
  setTitle(view.id, lk.title);
}

// -- Extend -------------------------------------------------------------------------------------

function note(text, tone) {
  return text ? { text, tone, at: Date.now() } : null;
}

function extendAnswered(view, mine, result) {
  if (view.disposed || view.pending !== mine) return;
  if (result.via === "kernel") {
    view.pending = { since: mine.since, via: "kernel" }; // the kernel's busy/message end it
  } else {
    view.pending = null;
    view.note = result.reading
      ? note(`Extended: ${presentation(view, result.reading).headline}`, "ok")
      : note(result.error, "error");
  }
  tick(view);
}

function extendFailed(view, mine, err) {
  if (view.disposed) return;
  if (view.pending === mine) view.pending = null;
  view.note = note(oneLine(`extend failed: ${err && err.message ? err.message : err}`), "error");
  tick(view);
}

function onExtend(view) {
  const duration = view.dom.select.value;
  if (!duration) return;
  const mine = { since: Date.now(), via: "server" };
  view.pending = mine;
  view.note = null;
  tick(view);
  requestExtend(view.model, duration)
    .then((result) => extendAnswered(view, mine, result))
    .catch((err) => extendFailed(view, mine, err));
}

// -- the kernel's news ----------------------------------------------------------------------------

function onMessage(view) {
  const text = view.model.get("message") || "";
  view.note = note(text, text.startsWith("Extended") ? "ok" : "error");
  tick(view);
}

function onBusy(view) {
  if (!view.model.get("busy")) {
    onMessage(view); // done: its message, even when the text is the same as last time
    if (view.pending !== null && view.pending.via === "kernel") {
      view.pending = null;
      fetchLease().catch(() => {}); // the renewal as the server sees it, where there is one
    }
  }
  tick(view);
}

function onKernelNow(view) {
  anchorOnKernel(view.model.get("kernel_now_ms"));
  tick(view);
}

function onChoices(view) {
  fillChoices(view.dom.select, view.model.get("extend_choices") || []);
}

// Every subscription of a view; returns the function that ends them all. Each handler is a
// no-op once the view is gone: a GET, an Extend or a timer that ends after it must not touch
// the tab title (it would keep its "⏳" prefix for good), notify, or fetch.
function listen(view) {
  const live = (fn) => () => (view.disposed ? undefined : fn(view));
  const handlers = [
    ["change:reading", tick], ["change:warn_at_s", tick], ["change:notifications", tick],
    ["change:kernel_now_ms", onKernelNow], ["change:extend_choices", onChoices],
    ["change:busy", onBusy], ["change:message", onMessage],
  ].map(([name, fn]) => [name, live(fn)]);
  for (const [name, fn] of handlers) view.model.on(name, fn);
  const onServer = live(tick);
  shared.server.listeners.add(onServer);
  const onVisible = live(() => {
    if (document.visibilityState === "visible") {
      fetchLease({ minAge: VISIBLE_REFRESH_MS }).catch(() => {});
    }
  });
  document.addEventListener("visibilitychange", onVisible);
  const untick = onTick(live(tick));
  return () => {
    for (const [name, fn] of handlers) view.model.off(name, fn);
    shared.server.listeners.delete(onServer);
    document.removeEventListener("visibilitychange", onVisible);
    untick();
  };
}

function wireDom(view) {
  const { dom } = view;
  dom.extend.addEventListener("click", () => onExtend(view));
  dom.dismiss.addEventListener("click", () => {
    view.dismissed = view.shown ? view.shown.threshold : null;
    tick(view);
  });
  dom.notify.addEventListener("click", () => {
    if (typeof Notification === "undefined") return;
    Promise.resolve(Notification.requestPermission()).finally(() => tick(view));
  });
}

function render({ model, el }) {
  const view = {
    id: shared.nextId++, model, dom: build(el), disposed: false,
    dismissed: null, pending: null, note: null, shown: null,
  };
  wireDom(view);
  onChoices(view);
  const stop = listen(view);
  tick(view);
  // On render: the true lease after a reload and in any view (one GET for a burst of views:
  // a view rendered within 2 s of the last answer takes that one).
  fetchLease({ minAge: 2000 })
    .then(() => tick(view))
    .catch(() => {});
  return () => {
    view.disposed = true;
    stop();
    setTitle(view.id, null);
  };
}

export default { render };
