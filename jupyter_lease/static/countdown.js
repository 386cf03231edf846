// jupyter_lease countdown view (anywidget ESM).
//
// The browser ticks the countdown itself: the kernel sends state only when the lease, the
// thresholds or the stage change, so the display stays right while a cell keeps the kernel busy.
//
// Two sources of the lease:
//   * the kernel's traits (its watcher polls ModelArts and syncs `deadline_ms` & co.);
//   * the jupyter_lease *server extension*, when the page is served by a Jupyter server that
//     has it: GET {baseUrl}jupyter-lease/api/lease on render, every few minutes, when the tab
//     becomes visible again and after a kernel-path Extend. The Jupyter server answers while
//     the kernel is busy, and a reload, a second view or another tab gets the true deadline.
//   The newest one is shown: a server answer (read upstream at its `fetched_at_ms`) is used
//   until the kernel reports, live, a change of the lease made after that (`kernel_now_ms`).
//
// Extend: POST {baseUrl}jupyter-lease/api/lease/extend (XSRF header from the `_xsrf` cookie);
// the answer is the renewed lease, shown at once. Only where no server extension answers (no
// Jupyter page config, 404, 503 "not configured", a network error: VS Code, a bare kernel) the
// click goes to the kernel over the widget comm, which it reads only between cells.
//
// Clocks. `deadline_ms` is on the KERNEL HOST's (= Jupyter server host's) wall clock. The
// view shows
//     remaining = deadline_ms - (Date.now() + offset)
// where `offset` estimates (kernel host clock - browser clock):
//   1. from the lease API's `now_ms` and the midpoint of that request (ms resolution);
//   2. else from the Jupyter server's HTTP `Date` header: GET {baseUrl}api/status,
//      offset = Date + 500 ms - midpoint of the request (Date has 1 s resolution); re-measured
//      at most every 10 minutes, while a view is open;
//   3. without a Jupyter page config (VS Code, ...): anchored on `kernel_now_ms` whenever a
//      state change arrives live (it is the kernel's clock at the moment it sent the change);
//   4. otherwise 0 (same machine, or synced clocks).
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
const REARM_MS = 5000; // a deadline this much later re-arms the thresholds (not clock jitter)
const LEASE_API = "jupyter-lease/api/lease";
const EXTEND_API = "jupyter-lease/api/lease/extend";
const REFRESH_MS = 2 * 60 * 1000; // the server answers from its shared cache: cheap
const RETRY_MS = 30 * 1000; // after a failed GET (network, 5xx)
const VISIBLE_REFRESH_MS = 5000; // a tab shown again refreshes unless it just did
const GET_TIMEOUT_MS = 30 * 1000;
const EXTEND_TIMEOUT_MS = 90 * 1000; // RenewLease with its retries, then the read-back
const MAX_RTT_MS = 5000; // slower answers say little about the clock offset
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
// The lease server extension, page-wide: one GET in flight for all views; listeners get
// every answer. state: "unknown" | "ok" | "absent" (no page config, 404) | "failing".
shared.server ??= {
  state: "unknown",
  answer: null,
  inflight: null,
  lastAttempt: null,
  listeners: new Set(),
};

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
  if (clock.pending || clock.source === "lease-api") return; // the lease API measures it
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
      // The lease API's measurement (ms resolution) beats the Date header's (1 s).
      if (offset !== null && clock.source !== "lease-api") {
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
  if (clock.source === "server" || clock.source === "lease-api") return; // measured: better
  if (!Number.isFinite(kernelNowMs) || kernelNowMs <= 0) return;
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
    if (firedFor !== undefined && deadline <= firedFor + REARM_MS) continue; // re-armed only later
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

// -- transports: the only functions that talk to the lease (swappable) ------------------------
// fetchLease -> GET from the server extension; requestExtend -> POST to it, or the kernel's comm
// (read only between cells) where no server extension answers.

function oneLine(text, limit = 300) {
  const line = String(text ?? "").split(/\s+/).filter(Boolean).join(" ");
  return line.length <= limit ? line : `${line.slice(0, limit - 1)}…`;
}

function xsrfToken() {
  // As JupyterLab's ServerConnection does: the raw cookie value, echoed in X-XSRFToken.
  const match = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
  return match ? match[1] : null;
}

async function callApi(url, init, timeoutMs) {
  const controller = typeof AbortController === "undefined" ? null : new AbortController();
  const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
  const sent = Date.now();
  try {
    const response = await fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      ...init,
      headers: { Accept: "application/json", ...(init.headers || {}) },
      signal: controller ? controller.signal : undefined,
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      /* not JSON: a proxy's or the server's HTML page */
    }
    return { status: response.status, body, sent, received: Date.now() };
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

// The server's JSON as a lease on the kernel host's clock, plus what the clock offset is.
function leaseFromServer(body, sent, received) {
  if (!body || typeof body !== "object" || typeof body.kind !== "string") return null;
  const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const deadline = num(body.deadline_ms);
  let offset = null; // server host clock - browser clock
  if (num(body.now_ms) !== null) offset = body.now_ms - (sent + received) / 2;
  else if (deadline !== null && num(body.remaining_ms) !== null) {
    offset = deadline - (received + body.remaining_ms);
  }
  const duration = num(body.duration_ms);
  return {
    kind: body.kind,
    deadline_ms: deadline,
    idle_after_s: body.kind === "idle" && duration ? Math.round(duration / 1000) : null,
    stale: Boolean(body.stale),
    error: body.stale ? oneLine(body.error) : "",
    notebook_id: typeof body.notebook_id === "string" ? body.notebook_id : "",
    fetchedAt: num(body.fetched_at_ms) ?? num(body.now_ms) ?? 0,
    offset,
    rtt: received - sent,
  };
}

function publishLease(lease) {
  const server = shared.server;
  server.state = "ok";
  server.answer = lease;
  if (lease.offset !== null && lease.rtt <= MAX_RTT_MS) {
    const clock = shared.clock;
    clock.offset = lease.offset;
    clock.source = "lease-api";
  }
  for (const fn of [...server.listeners]) {
    try {
      fn(lease);
    } catch (err) {
      console.error("jupyter_lease countdown:", err);
    }
  }
}

// GET the lease from the server extension; every view hears the answer (publishLease).
// Resolves to the lease, or null (no server extension, or it failed this time).
export async function fetchLease(_model, { minAge = 0 } = {}) {
  const server = shared.server;
  if (server.inflight) return server.inflight;
  if (server.state === "absent") return null;
  if (server.lastAttempt !== null && Date.now() - server.lastAttempt < minAge) {
    return server.state === "ok" ? server.answer : null; // the last attempt's answer
  }
  const base = pageBaseUrl();
  if (base === null) {
    server.state = "absent"; // not a Jupyter server page (VS Code, ...)
    return null;
  }
  server.lastAttempt = Date.now();
  server.inflight = (async () => {
    try {
      const { status, body, sent, received } = await callApi(
        `${base}${LEASE_API}`,
        { method: "GET" },
        GET_TIMEOUT_MS,
      );
      if (status === 404) {
        server.state = "absent"; // no server extension on this Jupyter server
        return null;
      }
      const lease = status === 200 ? leaseFromServer(body, sent, received) : null;
      if (lease === null) {
        server.state = "failing"; // 503 not configured, 502 ModelArts failed, ...: the kernel's
        return null;
      }
      publishLease(lease);
      return lease;
    } catch {
      server.state = "failing"; // network error or timeout: try again later
      return null;
    } finally {
      server.inflight = null;
    }
  })();
  return server.inflight;
}

function refreshDue() {
  const server = shared.server;
  if (server.state === "absent" || server.inflight || server.lastAttempt === null) return false;
  const wait = server.state === "failing" ? RETRY_MS : REFRESH_MS;
  return Date.now() - server.lastAttempt >= wait;
}

// POST an extension to the server extension. Resolves to {lease} or {error}, or null when no
// server extension answers (then the caller asks the kernel).
async function postExtend(duration) {
  const base = pageBaseUrl();
  if (base === null || shared.server.state === "absent") return null;
  const headers = { "Content-Type": "application/json" };
  const xsrf = xsrfToken();
  if (xsrf !== null) headers["X-XSRFToken"] = xsrf;
  let answer;
  try {
    answer = await callApi(
      `${base}${EXTEND_API}`,
      { method: "POST", headers, body: JSON.stringify({ duration }) },
      EXTEND_TIMEOUT_MS,
    );
  } catch (err) {
    if (err && err.name === "AbortError") {
      // The renewal may have gone through: never send it again through the kernel.
      return {
        error: "extend: no answer from the Jupyter server; check the lease before retrying",
      };
    }
    return null; // network error: no server to talk to
  }
  const { status, body, sent, received } = answer;
  if (status === 404 || status === 503) return null; // no extension / it is not configured here
  if (status === 200) {
    const lease = leaseFromServer(body, sent, received);
    if (lease !== null) {
      publishLease(lease);
      return { lease };
    }
    return { error: "extend: the Jupyter server's answer was not a lease" };
  }
  const line = body && typeof body === "object" ? oneLine(body.error || body.message) : "";
  return { error: line || `extend failed: HTTP ${status} from the Jupyter server` };
}

// Extend by `duration`: through the Jupyter server when it has the extension, else the kernel.
// Resolves to {via: "server", lease} | {via: "server", error} | {via: "kernel"}.
export async function requestExtend(model, duration) {
  const result = await postExtend(duration);
  if (result !== null) return { via: "server", ...result };
  model.send({ type: "extend", duration });
  return { via: "kernel" };
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
  // The server extension's lease while it is the newest news (see the header); null: the kernel's.
  let override = null;
  // When the kernel last reported a change of the lease, live (kernel host ms). The state a view
  // starts with is never newer than the server's answer: kernels and the server share one
  // lease cache, so the server knows whatever the kernel had read (and its `kernel_now_ms`
  // also moves with stage changes, which are no news about the lease).
  let kernelNewsAt = 0;
  let firstSeen = { deadline: null, remaining: 0 };
  let dismissed = null; // the threshold whose banner was dismissed
  let pending = null; // an Extend sent and not answered: {since, via: "server" | "kernel"}
  let note = null; // the last action's result line: {text, tone, at}
  // Set by the cleanup. A GET or an Extend may resolve, a timer fire, a permission prompt
  // close after the view is gone: such a callback must not touch the tab title (it would keep
  // its "⏳" prefix for good), notify, or fetch. Every async callback goes through live().
  let disposed = false;
  const live = (fn) => (...args) => (disposed ? undefined : fn(...args));

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

  const fillChoices = live(() => {
    const choices = model.get("extend_choices") || [];
    const current = select.value;
    select.replaceChildren(...choices.map((c) => h("option", "", c)));
    if (choices.includes(current)) select.value = current;
    else if (choices.includes("2h")) select.value = "2h";
  });

  function showNote(text, tone) {
    note = text ? { text, tone, at: Date.now() } : null;
  }

  const tick = live(() => {
    maybeMeasureClock();
    if (refreshDue()) fetchLease(model).catch(() => {});
    const kind = get("kind");
    const deadline = get("deadline_ms");
    const stale = Boolean(get("stale"));
    const error = get("error") || "";
    const warnAt = thresholds(model);
    const id = model.get("notebook_id") || (override && override.notebook_id) || "";
    const source = override ? "server" : "kernel";
    if (root.dataset.source !== source) root.dataset.source = source;
    let stage;
    let timeText = "";
    let labelText = "";
    const metaParts = [];
    let fraction = null;
    let remaining = null;
    let bannerThreshold = null;

    if (model.get("stopped")) {
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
        // The kernel's span (last renewal -> deadline) fits only the kernel's deadline.
        const kernelDeadline = model.get("deadline_ms");
        const kernelSpan =
          kernelDeadline !== null && Math.abs(kernelDeadline - deadline) < REARM_MS
            ? model.get("span_ms")
            : null;
        const span = Math.max(
          kernelSpan > 0 ? kernelSpan : firstSeen.remaining,
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
    const busy = Boolean(model.get("busy"));
    const viaKernel = pending !== null && pending.via === "kernel";
    const waitedLong = viaKernel && !busy && Date.now() - pending.since > 3000;
    const fresh = note !== null && Date.now() - note.at < MESSAGE_SHOWN_MS;
    const shownMessage = waitedLong
      ? "Waiting for the kernel: the extension is sent when the running cell finishes"
      : fresh
        ? note.text
        : "";
    setText(messageLine, shownMessage);
    setHidden(messageLine, !shownMessage);
    const tone = waitedLong ? "info" : fresh ? note.tone : "";
    if (messageLine.dataset.tone !== tone) messageLine.dataset.tone = tone;
    // Only a timed lease has a deadline to move. Extend would turn an idle stop or auto-stop
    // that is off into a hard deadline, and an unknown lease may be either (issue 8, item 4).
    const canExtend = !model.get("stopped") && kind === "timed";
    setHidden(controls, !canExtend);
    // A kernel-path Extend may wait for a long cell: allow a retry after a while.
    const retryAllowed = viaKernel && Date.now() - pending.since > PENDING_RETRY_MS;
    const disabled = busy || (pending !== null && !retryAllowed);
    if (extend.disabled !== disabled) extend.disabled = disabled;
    if (select.disabled !== disabled) select.disabled = disabled;
    setText(extend, busy || (pending !== null && !retryAllowed) ? "Extending…" : "Extend");
    const canAsk =
      Boolean(model.get("notifications")) &&
      kind === "timed" &&
      !model.get("stopped") &&
      typeof Notification !== "undefined" &&
      Notification.permission === "default";
    setHidden(notify, !canAsk);
  });

  // the server extension's answers (this view's and every other view's on the page)
  const onServerLease = live((lease) => {
    const own = model.get("notebook_id");
    if (own && lease.notebook_id && own !== lease.notebook_id) return; // another instance's
    if (lease.fetchedAt < kernelNewsAt) return; // the kernel reported something newer
    // A server that cannot reach ModelArts does not override a kernel that can.
    if (lease.stale && !model.get("stale") && model.get("deadline_ms") !== null) return;
    override = lease;
    tick();
  });
  shared.server.listeners.add(onServerLease);
  const onVisible = live(() => {
    if (document.visibilityState === "visible") {
      fetchLease(model, { minAge: VISIBLE_REFRESH_MS }).catch(() => {});
    }
  });
  document.addEventListener("visibilitychange", onVisible);

  // events
  extend.addEventListener("click", () => {
    const duration = select.value;
    if (!duration) return;
    const mine = { since: Date.now(), via: "server" };
    pending = mine;
    note = null;
    tick();
    const answered = live((result) => {
      if (pending !== mine) return;
      if (result.via === "kernel") {
        pending = { since: mine.since, via: "kernel" }; // the kernel's busy/message end it
      } else if (result.lease) {
        pending = null;
        const deadline = result.lease.deadline_ms;
        const left = deadline === null ? "" : `: ${formatRemaining(deadline - kernelNow())} left`;
        showNote(`Extended${left}`, "ok");
      } else {
        pending = null;
        showNote(result.error, "error");
      }
      tick();
    });
    const failed = live((err) => {
      if (pending === mine) pending = null;
      showNote(oneLine(`extend failed: ${err && err.message ? err.message : err}`), "error");
      tick();
    });
    requestExtend(model, duration).then(answered).catch(failed);
  });
  dismiss.addEventListener("click", () => {
    const deadline = get("deadline_ms");
    for (const t of thresholds(model)) {
      if (deadline !== null && deadline - kernelNow() <= t * 1000) dismissed = t;
    }
    tick();
  });
  notify.addEventListener("click", () => {
    if (typeof Notification === "undefined") return;
    Promise.resolve(Notification.requestPermission()).finally(tick);
  });

  // the kernel's news
  const onLeaseChange = live(() => {
    kernelNewsAt = Number(model.get("kernel_now_ms")) || Date.now() + shared.clock.offset;
    if (override && override.fetchedAt < kernelNewsAt) override = null;
    tick();
  });
  const onKernelNow = live(() => {
    anchorOnKernel(model.get("kernel_now_ms"));
    tick();
  });
  const onBusy = live(() => {
    if (model.get("busy")) {
      tick();
      return;
    }
    onMessage(); // done: its message, even when the text is the same as last time
    if (pending !== null && pending.via === "kernel") {
      pending = null;
      fetchLease(model).catch(() => {}); // the renewal as the server sees it, where there is one
    }
    tick();
  });
  const onMessage = live(() => {
    const text = model.get("message") || "";
    showNote(text, text.startsWith("Extended") ? "ok" : "error");
    tick();
  });
  const LEASE_FIELDS = ["deadline_ms", "kind", "stopped"];
  const OTHER_FIELDS = FIELDS.filter(
    (n) => !LEASE_FIELDS.includes(n) && !["kernel_now_ms", "busy", "message"].includes(n),
  );
  for (const name of LEASE_FIELDS) model.on(`change:${name}`, onLeaseChange);
  for (const name of OTHER_FIELDS) model.on(`change:${name}`, tick);
  model.on("change:kernel_now_ms", onKernelNow);
  model.on("change:extend_choices", fillChoices);
  model.on("change:busy", onBusy);
  model.on("change:message", onMessage);

  fillChoices();
  tick();
  const unsubscribe = (shared.ticker ??= makeTicker()).add(tick);
  // On render: the true deadline after a reload and in any view (one GET for a burst of views:
  // a view rendered within 2 s of the last answer takes that one).
  fetchLease(model, { minAge: 2000 })
    .then((lease) => {
      if (lease) onServerLease(lease); // live(): not once the view is gone
    })
    .catch(() => {});

  return () => {
    disposed = true;
    unsubscribe();
    shared.server.listeners.delete(onServerLease);
    document.removeEventListener("visibilitychange", onVisible);
    for (const name of LEASE_FIELDS) model.off(`change:${name}`, onLeaseChange);
    for (const name of OTHER_FIELDS) model.off(`change:${name}`, tick);
    model.off("change:kernel_now_ms", onKernelNow);
    model.off("change:extend_choices", fillChoices);
    model.off("change:busy", onBusy);
    model.off("change:message", onMessage);
    setTitle(viewId, null);
  };
}

export default { render };
