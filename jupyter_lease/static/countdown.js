// jupyter_lease countdown view (anywidget ESM).
//
// The browser ticks the countdown itself: the kernel sends state only when the lease, the
// thresholds or the stage change, so the display stays right while a cell keeps the kernel busy.
//
// Clocks. `deadline_ms` is on the KERNEL HOST's wall clock. The view shows
//     remaining = deadline_ms - (Date.now() + offset)
// where `offset` estimates (kernel host clock - browser clock):
//   1. from the Jupyter server's HTTP `Date` header (the server runs on the kernel host):
//      GET {baseUrl}api/status, offset = Date + 500 ms - midpoint of the request (Date has
//      1 s resolution); re-measured at most every 10 minutes, while a view is open;
//   2. without a Jupyter page config (VS Code, ...): anchored on `kernel_now_ms` whenever a
//      state change arrives live (it is the kernel's clock at the moment it sent the change);
//   3. otherwise 0 (same machine, or synced clocks).
// A saved/restored state is never used as an anchor: its `kernel_now_ms` may be hours old.
//
// Thresholds (`warn_at_s`) are crossed on the browser's own timer: once per lease deadline
// (re-armed when the deadline moves later), each shows a banner, prefixes the tab title with
// the time left, and raises a browser Notification when allowed.

const SHARED_KEY = "__jupyterLeaseCountdown_v1";
const REMEASURE_MS = 10 * 60 * 1000;
const TICK_MS = 250;
const TITLE_PREFIX = /^⏳ [^·]* · /;
const DEFAULT_WARN_AT = [1800, 600, 300, 60];
const NEAR_END_MS = 10 * 60 * 1000;
const FIRED_STORAGE_KEY = "jupyter-lease-fired";
const PENDING_RETRY_MS = 60 * 1000;
const MESSAGE_SHOWN_MS = 60 * 1000; // an action's result line, then it is history
const BELL_SVG =
  '<svg class="jl-icon" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">' +
  '<path fill="currentColor" d="M8 16a2 2 0 0 0 2-2H6a2 2 0 0 0 2 2zm5-5V7a5 5 0 0 0-4-4.9V1a1 ' +
  '1 0 0 0-2 0v1.1A5 5 0 0 0 3 7v4l-1.3 1.3A.5.5 0 0 0 2 13h12a.5.5 0 0 0 .3-.7L13 11z"/></svg>';

// One set of page-wide helpers, shared by every view (and by re-imports of this module).
const shared = (globalThis[SHARED_KEY] ??= {
  clock: { offset: 0, source: "none", measuredWall: null, measuredPerf: null, pending: false },
  ticker: null,
  titles: new Map(),
  fired: null,
  nextId: 1,
});

// -- formatting (mirrors jupyter_lease._duration.format_remaining) ----------------------------

// Far from the stop: minutes, rounded to the nearest; inside 10 min: m:ss, rounded down.
export function formatRemaining(ms) {
  if (ms < NEAR_END_MS) {
    const whole = Math.max(0, Math.floor(ms / 1000));
    return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
  }
  const seconds = Math.floor(ms / 60000 + 0.5) * 60;
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const two = (n) => String(n).padStart(2, "0");
  if (days) return `${days} d ${two(hours)} h`;
  if (hours) return `${hours} h ${two(minutes)} min`;
  return `${minutes} min`;
}

export function formatThreshold(seconds) {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${seconds} s`;
}

function thresholds(model) {
  const list = (model.get("warn_at_s") || []).filter((s) => Number.isFinite(s) && s > 0);
  return (list.length ? list : DEFAULT_WARN_AT).slice().sort((a, b) => b - a);
}

// Mirrors jupyter_lease._schedule.stage_for: the largest threshold starts "warning", the
// smallest starts "critical" (with a single threshold: the last minute).
export function stageFor(remainingMs, warnAt) {
  if (remainingMs <= 0) return "stopped";
  const ordered = warnAt.length ? warnAt : DEFAULT_WARN_AT;
  const last = ordered[ordered.length - 1];
  const critical = ordered.length > 1 ? last : Math.min(last, 60);
  if (remainingMs <= critical * 1000) return "critical";
  if (remainingMs <= ordered[0] * 1000) return "warning";
  return "plenty";
}

function localStopTime(browserMs) {
  const when = new Date(browserMs);
  const now = new Date();
  const time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (when.toDateString() === now.toDateString()) return time;
  return `${when.toLocaleDateString([], { weekday: "short", month: "short", day: "numeric" })} ${time}`;
}

// -- the clock offset (kernel host - browser) -------------------------------------------------

function pageBaseUrl() {
  const el = document.getElementById("jupyter-config-data");
  if (!el) return null;
  try {
    const base = JSON.parse(el.textContent || "{}").baseUrl;
    if (typeof base !== "string") return null;
    return base.endsWith("/") ? base : `${base}/`;
  } catch {
    return null;
  }
}

async function measureServerOffset(baseUrl) {
  const sent = Date.now();
  const response = await fetch(`${baseUrl}api/status`, {
    credentials: "same-origin",
    cache: "no-store",
  });
  const received = Date.now();
  const date = response.headers.get("Date"); // present on every answer, a 403 included
  const server = date ? Date.parse(date) : NaN;
  if (Number.isNaN(server) || received - sent > 5000) return null; // too slow to mean much
  return server + 500 - (sent + received) / 2;
}

function maybeMeasureClock() {
  const clock = shared.clock;
  if (clock.pending) return;
  if (clock.measuredWall !== null) {
    // At most every 10 minutes: by the monotonic clock, or by the wall clock after a suspend.
    const elapsed = Math.max(
      performance.now() - clock.measuredPerf,
      Date.now() - clock.measuredWall,
    );
    if (elapsed < REMEASURE_MS) return;
  }
  clock.measuredWall = Date.now();
  clock.measuredPerf = performance.now();
  const base = pageBaseUrl();
  if (base === null) return; // not a Jupyter server page (VS Code, ...): kernel anchor or 0
  clock.pending = true;
  measureServerOffset(base)
    .then((offset) => {
      if (offset !== null) {
        clock.offset = offset;
        clock.source = "server";
      }
    })
    .catch(() => {})
    .finally(() => {
      clock.pending = false;
    });
}

function anchorOnKernel(kernelNowMs) {
  const clock = shared.clock;
  if (clock.source === "server" || !Number.isFinite(kernelNowMs) || kernelNowMs <= 0) return;
  clock.offset = kernelNowMs - Date.now();
  clock.source = "kernel";
}

function kernelNow() {
  return Date.now() + shared.clock.offset;
}

// -- one ticker for the page --------------------------------------------------------------------
// A dedicated worker's timer is not throttled like a hidden tab's (Chrome slows those to once a
// minute after 5 minutes), so warnings and the tab title stay on time in a background tab.

function makeTicker() {
  const subscribers = new Set();
  let worker = null;
  let workerUrl = null;
  let interval = null;
  const fire = () => {
    for (const fn of [...subscribers]) {
      try {
        fn();
      } catch (err) {
        console.error("jupyter_lease countdown:", err);
      }
    }
  };
  const fallback = () => {
    stopWorker();
    if (interval === null) interval = setInterval(fire, TICK_MS);
  };
  function stopWorker() {
    if (worker) worker.terminate();
    if (workerUrl) URL.revokeObjectURL(workerUrl);
    worker = null;
    workerUrl = null;
  }
  function start() {
    try {
      const source = `setInterval(() => postMessage(0), ${TICK_MS});`;
      workerUrl = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
      worker = new Worker(workerUrl);
      worker.onmessage = fire;
      worker.onerror = fallback;
    } catch {
      fallback();
    }
    document.addEventListener("visibilitychange", fire);
  }
  function stop() {
    stopWorker();
    if (interval !== null) clearInterval(interval);
    interval = null;
    document.removeEventListener("visibilitychange", fire);
  }
  return {
    add(fn) {
      subscribers.add(fn);
      if (subscribers.size === 1) start();
      return () => {
        subscribers.delete(fn);
        if (subscribers.size === 0) stop();
      };
    },
  };
}

// -- the tab title: the most urgent countdown on the page wins ---------------------------------

function setTitle(viewId, entry) {
  if (entry) shared.titles.set(viewId, entry);
  else shared.titles.delete(viewId);
  const base = document.title.replace(TITLE_PREFIX, "");
  let best = null;
  for (const e of shared.titles.values()) {
    if (best === null || e.remaining < best.remaining) best = e;
  }
  const wanted = best ? `⏳ ${best.text} · ${base}` : base;
  if (document.title !== wanted) document.title = wanted;
}

// -- thresholds fired, per notebook and threshold: the deadline they fired for ---------------

function firedMap() {
  if (shared.fired === null) {
    shared.fired = new Map();
    try {
      const saved = JSON.parse(sessionStorage.getItem(FIRED_STORAGE_KEY) || "{}");
      for (const [k, v] of Object.entries(saved)) if (Number.isFinite(v)) shared.fired.set(k, v);
    } catch {
      /* storage unavailable: a reload may warn again, which is harmless */
    }
  }
  return shared.fired;
}

function saveFired() {
  try {
    sessionStorage.setItem(FIRED_STORAGE_KEY, JSON.stringify(Object.fromEntries(shared.fired)));
  } catch {
    /* ignore */
  }
}

// The thresholds crossed (remaining <= t) that have not fired for this deadline yet; marks
// them fired. Several at once (a page opened late): only the most urgent one is returned.
function newlyCrossed(notebookId, deadline, remainingMs, warnAt) {
  const fired = firedMap();
  let due = null;
  for (const t of warnAt) {
    if (remainingMs > t * 1000) continue;
    const key = `${notebookId}|${t}`;
    const firedFor = fired.get(key);
    if (firedFor !== undefined && deadline <= firedFor + 1000) continue; // re-armed only later
    fired.set(key, deadline);
    if (due === null || t < due) due = t;
  }
  if (due !== null) saveFired();
  return due;
}

function showNotification(model, threshold, stopText) {
  if (!model.get("notifications") || typeof Notification === "undefined") return;
  if (Notification.permission !== "granted") return;
  const id = model.get("notebook_id") || "";
  try {
    const note = new Notification(`⏳ ${formatThreshold(threshold)} left — jupyter_lease`, {
      body:
        `This notebook instance${id ? ` (${id.slice(0, 8)})` : ""} stops at ${stopText}. ` +
        "Save your work or extend the lease.",
      tag: `jupyter-lease-${id}`,
      requireInteraction: threshold <= 60,
    });
    note.onclick = () => {
      window.focus();
      note.close();
    };
  } catch {
    /* some browsers allow Notification only from a service worker */
  }
}

// -- transports: the only functions that talk to the kernel (swappable) -----------------------
// Today both go through the widget's comm, which the kernel reads only between cells. A server
// extension can replace them: requestExtend -> POST to the server, fetchLease -> GET from it.

async function requestExtend(model, duration) {
  model.send({ type: "extend", duration });
}

async function fetchLease(_model) {
  return null; // {kind, deadline_ms, span_ms, ...} from a server endpoint, when there is one
}

// -- the view -------------------------------------------------------------------------------------

const FIELDS = [
  "deadline_ms", "kernel_now_ms", "span_ms", "kind", "idle_after_s", "stage", "stale",
  "stopped", "error", "warn_at_s", "notebook_id", "notifications", "extend_choices",
  "message", "busy",
];

function h(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function setHidden(el, hidden) {
  if (el.hidden !== hidden) el.hidden = hidden;
}

function render({ model, el }) {
  const viewId = shared.nextId++;
  let override = null; // a fresher lease from fetchLease(), when a server endpoint exists
  let firstSeen = { deadline: null, remaining: 0 };
  let dismissed = null; // the threshold whose banner was dismissed
  let pendingSince = null; // an Extend sent, no answer from the kernel yet
  let messageSince = null; // when the last action result arrived (restored state: never shown)

  const get = (name) => (override && name in override ? override[name] : model.get(name));

  // DOM
  const root = h("div", "jl-countdown");
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", "Notebook lease countdown");
  const row = h("div", "jl-row");
  const dot = h("span", "jl-dot");
  dot.setAttribute("aria-hidden", "true");
  const time = h("span", "jl-time");
  time.setAttribute("role", "timer");
  const label = h("span", "jl-label");
  const meta = h("span", "jl-meta");
  const spacer = h("span", "jl-spacer");
  const notify = h("button", "jl-btn jl-btn-quiet jl-notify");
  notify.type = "button";
  notify.innerHTML = BELL_SVG; // a constant: no emoji font needed
  notify.append(h("span", "", "notify me"));
  notify.title = "Allow a browser notification when the lease is about to run out";
  const controls = h("span", "jl-controls");
  const select = h("select", "jl-select");
  select.setAttribute("aria-label", "Extend by");
  const extend = h("button", "jl-btn jl-extend", "Extend");
  extend.type = "button";
  controls.append(select, extend);
  row.append(dot, time, label, meta, spacer, notify, controls);
  const bar = h("div", "jl-bar");
  const fill = h("div", "jl-fill");
  bar.append(fill);
  const banner = h("div", "jl-banner");
  banner.setAttribute("role", "alert");
  const bannerText = h("span", "jl-banner-text");
  const dismiss = h("button", "jl-dismiss", "×");
  dismiss.type = "button";
  dismiss.title = "Hide until the next warning";
  banner.append(bannerText, dismiss);
  const errorLine = h("div", "jl-note jl-error");
  const messageLine = h("div", "jl-note jl-message");
  root.append(row, bar, banner, errorLine, messageLine);
  el.append(root);

  function fillChoices() {
    const choices = get("extend_choices") || [];
    const current = select.value;
    select.replaceChildren(...choices.map((c) => h("option", "", c)));
    if (choices.includes(current)) select.value = current;
    else if (choices.includes("2h")) select.value = "2h";
  }

  function tick() {
    maybeMeasureClock();
    const kind = get("kind");
    const deadline = get("deadline_ms");
    const stale = Boolean(get("stale"));
    const error = get("error") || "";
    const warnAt = thresholds(model);
    const id = get("notebook_id") || "";
    let stage;
    let timeText = "";
    let labelText = "";
    const metaParts = [];
    let fraction = null;
    let remaining = null;
    let bannerThreshold = null;

    if (get("stopped")) {
      stage = "stopped";
      timeText = "stopped";
      labelText = "the instance is not running";
    } else if (kind === "disabled") {
      stage = "no-deadline";
      labelText = "auto-stop is off";
    } else if (kind === "idle") {
      stage = "no-deadline";
      const idle = get("idle_after_s");
      labelText = `stops after ${idle ? formatRemaining(idle * 1000) : "a period"} idle`;
    } else if (kind !== "timed" || deadline === null || deadline === undefined) {
      stage = "unknown";
      timeText = "—";
      labelText = error ? "lease unknown" : "checking the lease…";
    } else {
      remaining = deadline - kernelNow();
      const stopBrowser = deadline - shared.clock.offset; // the stop on the browser's clock
      const stopText = localStopTime(stopBrowser);
      stage = stageFor(remaining, warnAt);
      if (remaining <= 0) {
        timeText = "0:00";
        labelText = `the lease ran out at ${stopText}`;
      } else {
        timeText = formatRemaining(remaining);
        labelText = stale ? "left (last known)" : "left";
        metaParts.push(`stops ${stopText}`);
        if (firstSeen.deadline !== deadline) firstSeen = { deadline, remaining };
        const span = Math.max(
          get("span_ms") > 0 ? get("span_ms") : firstSeen.remaining,
          warnAt[0] * 1000,
          remaining,
        );
        fraction = remaining / span;
        const crossed = newlyCrossed(id, deadline, remaining, warnAt);
        if (crossed !== null) {
          dismissed = null;
          showNotification(model, crossed, stopText);
        }
        for (const t of warnAt) if (remaining <= t * 1000) bannerThreshold = t;
      }
    }
    if (id) metaParts.push(`notebook ${id.slice(0, 8)}`);

    // stage and text
    if (root.dataset.stage !== stage) root.dataset.stage = stage;
    const staleAttr = String(stale && stage !== "stopped");
    if (root.dataset.stale !== staleAttr) root.dataset.stale = staleAttr;
    setText(time, timeText);
    setHidden(time, timeText === "");
    setText(label, labelText);
    setText(meta, metaParts.join(" · "));
    meta.title = id ? `notebook ${id}` : "";

    // progress
    setHidden(bar, fraction === null);
    if (fraction !== null) {
      const width = `${(Math.max(0, Math.min(1, fraction)) * 100).toFixed(2)}%`;
      if (fill.style.width !== width) fill.style.width = width;
    }

    // banner and tab title while warning/critical
    const urgent = stage === "warning" || stage === "critical";
    const showBanner = urgent && bannerThreshold !== null && dismissed !== bannerThreshold;
    setHidden(banner, !showBanner);
    if (showBanner) {
      setText(
        bannerText,
        `Less than ${formatThreshold(bannerThreshold)} left — save your work or extend`,
      );
    }
    setTitle(viewId, urgent ? { remaining, text: formatRemaining(remaining) } : null);

    // error, message, controls
    setText(errorLine, error);
    setHidden(errorLine, !error);
    const fresh = messageSince !== null && Date.now() - messageSince < MESSAGE_SHOWN_MS;
    const message = fresh ? get("message") || "" : "";
    const busy = Boolean(get("busy"));
    const waiting = pendingSince !== null && !busy;
    const waitedLong = waiting && Date.now() - pendingSince > 3000;
    const shownMessage = waitedLong
      ? "Waiting for the kernel: the extension is sent when the running cell finishes"
      : message;
    setText(messageLine, shownMessage);
    setHidden(messageLine, !shownMessage);
    const tone = waitedLong ? "info" : message.startsWith("Extended") ? "ok" : "error";
    if (messageLine.dataset.tone !== tone) messageLine.dataset.tone = tone;
    const canExtend = !get("stopped") && (kind === "timed" || kind === "unknown");
    setHidden(controls, !canExtend);
    const retryAllowed = pendingSince !== null && Date.now() - pendingSince > PENDING_RETRY_MS;
    const disabled = busy || (pendingSince !== null && !retryAllowed);
    if (extend.disabled !== disabled) extend.disabled = disabled;
    if (select.disabled !== disabled) select.disabled = disabled;
    setText(extend, busy || waiting ? "Extending…" : "Extend");
    const canAsk =
      Boolean(get("notifications")) &&
      kind === "timed" &&
      !get("stopped") &&
      typeof Notification !== "undefined" &&
      Notification.permission === "default";
    setHidden(notify, !canAsk);
  }

  // events
  extend.addEventListener("click", () => {
    const duration = select.value;
    if (!duration) return;
    pendingSince = Date.now();
    tick();
    requestExtend(model, duration).catch(() => {
      pendingSince = null;
      tick();
    });
  });
  dismiss.addEventListener("click", () => {
    for (const t of thresholds(model)) {
      const deadline = get("deadline_ms");
      if (deadline !== null && deadline - kernelNow() <= t * 1000) dismissed = t;
    }
    tick();
  });
  notify.addEventListener("click", () => {
    if (typeof Notification === "undefined") return;
    Promise.resolve(Notification.requestPermission()).finally(tick);
  });

  const onChange = () => {
    override = null; // the kernel's news is newer than what was fetched
    tick();
  };
  const onKernelNow = () => {
    anchorOnKernel(model.get("kernel_now_ms"));
    tick();
  };
  const onBusyOrMessage = () => {
    pendingSince = null;
    messageSince = Date.now();
    tick();
  };
  for (const name of FIELDS) model.on(`change:${name}`, onChange);
  model.on("change:kernel_now_ms", onKernelNow);
  model.on("change:extend_choices", fillChoices);
  model.on("change:busy", onBusyOrMessage);
  model.on("change:message", onBusyOrMessage);

  fillChoices();
  tick();
  const unsubscribe = (shared.ticker ??= makeTicker()).add(tick);
  fetchLease(model)
    .then((fresh) => {
      if (fresh) {
        override = fresh;
        tick();
      }
    })
    .catch(() => {});

  return () => {
    unsubscribe();
    for (const name of FIELDS) model.off(`change:${name}`, onChange);
    model.off("change:kernel_now_ms", onKernelNow);
    model.off("change:extend_choices", fillChoices);
    model.off("change:busy", onBusyOrMessage);
    model.off("change:message", onBusyOrMessage);
    setTitle(viewId, null);
  };
}

export default { render };
