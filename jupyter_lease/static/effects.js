// jupyter_lease: the countdown's effects, page-wide — the clock, one ticker, and the two
// transports to the lease (the tab title, thresholds and notifications: alerts.js).
//
// Transports: GET {baseUrl}jupyter-lease/api/lease (the server extension, answered from the
// shared cache while the kernel is busy) on render, every few minutes, when the tab becomes
// visible again; POST …/extend with the XSRF header from the `_xsrf` cookie. Both answer
// {reading, now_ms}: the reading is the JSON the kernel's widget syncs too. Every answer goes
// to the server's other views (status items, other pages' widgets: channel.js) and theirs come
// in, so an Extend anywhere shows here within a second. Only where no server extension
// answers (no Jupyter page config, 404, 503 "not configured", a network error: VS Code, a bare
// kernel) Extend goes to the kernel over the widget comm.
//
// The clock. A reading's deadline is on the SOURCE's clock with `clock_offset_ms` (source -
// serving host) beside it; the page measures `offset` = serving host - browser, and derive()
// converts once. `offset` comes, best first:
//   1. from the lease API's `now_ms` and the midpoint of that request (ms resolution);
//   2. from the Jupyter server's `Date` header (GET api/status, +500 ms, 1 s resolution),
//      re-measured at most every 10 minutes while a view is open;
//   3. without a Jupyter page config (VS Code, ...): the kernel's `kernel_now_ms`, whenever a
//      state change arrives live (a restored state is never an anchor: it may be hours old);
//   4. otherwise 0 (same machine, or synced clocks).

import { newer, oneLine } from "./present.js";
import { leaseAnswer, openChannel, scopeOf } from "./channel.js";

const SHARED_KEY = "__jupyterLeaseCountdown_v1";
const REMEASURE_MS = 10 * 60 * 1000;
const TICK_MS = 250;
const LEASE_API = "jupyter-lease/api/lease";
const EXTEND_API = "jupyter-lease/api/lease/extend";
const REFRESH_MS = 2 * 60 * 1000; // the server answers from its shared cache: cheap
const RETRY_MS = 30 * 1000; // after a failed GET (network, 5xx)
const GET_TIMEOUT_MS = 30 * 1000;
const EXTEND_TIMEOUT_MS = 90 * 1000; // RenewLease with its retries, then the read-back
const MAX_RTT_MS = 5000; // slower answers say little about the clock offset (Date header)

// One set of page-wide helpers, shared by every view (and by re-imports of this module).
export const shared = (globalThis[SHARED_KEY] ??= {
  clock: { offset: 0, source: "none", measuredWall: null, measuredPerf: null, pending: false },
  ticker: null,
  titles: new Map(),
  fired: null,
  nextId: 1,
});
// The server extension, page-wide: one GET in flight for all views; listeners hear every
// answer. state: "unknown" | "ok" | "absent" (no page config, 404) | "failing".
shared.server ??= {
  state: "unknown",
  answer: null,
  inflight: null,
  lastAttempt: null,
  listeners: new Set(),
};

// -- the clock offset (serving host - browser) ------------------------------------------------

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
  if (Number.isNaN(server) || received - sent > MAX_RTT_MS) return null;
  return server + 500 - (sent + received) / 2;
}

function remeasureDue(clock) {
  if (clock.pending || clock.source === "lease-api") return false; // the lease API measures
  if (clock.measuredWall === null) return true;
  // At most every 10 minutes: by the monotonic clock, or by the wall clock after a suspend.
  const elapsed = Math.max(
    performance.now() - clock.measuredPerf,
    Date.now() - clock.measuredWall,
  );
  return elapsed >= REMEASURE_MS;
}

export function maybeMeasureClock() {
  const clock = shared.clock;
  if (!remeasureDue(clock)) return;
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

export function anchorOnKernel(kernelNowMs) {
  const clock = shared.clock;
  if (clock.source === "server" || clock.source === "lease-api") return; // measured: better
  if (!Number.isFinite(kernelNowMs) || kernelNowMs <= 0) return;
  clock.offset = kernelNowMs - Date.now();
  clock.source = "kernel";
}

// -- one ticker for the page --------------------------------------------------------------------
// A dedicated worker's timer is not throttled like a hidden tab's (Chrome slows those to once a
// minute after 5 minutes), so warnings and the tab title stay on time in a background tab.

function startTimer(fire) {
  const timer = { worker: null, url: null, interval: null };
  const fallback = () => {
    stopTimer(timer);
    timer.interval = setInterval(fire, TICK_MS);
  };
  try {
    const source = `setInterval(() => postMessage(0), ${TICK_MS});`;
    timer.url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    timer.worker = new Worker(timer.url);
    timer.worker.onmessage = fire;
    timer.worker.onerror = fallback;
  } catch {
    fallback();
  }
  return timer;
}

function stopTimer(timer) {
  if (timer.worker) timer.worker.terminate();
  if (timer.url) URL.revokeObjectURL(timer.url);
  if (timer.interval !== null) clearInterval(timer.interval);
  Object.assign(timer, { worker: null, url: null, interval: null });
}

function makeTicker() {
  const subscribers = new Set();
  let timer = null;
  const fire = () => {
    for (const fn of [...subscribers]) {
      try {
        fn();
      } catch (err) {
        console.error("jupyter_lease countdown:", err);
      }
    }
  };
  return {
    add(fn) {
      subscribers.add(fn);
      if (subscribers.size === 1) {
        timer = startTimer(fire);
        document.addEventListener("visibilitychange", fire);
      }
      return () => {
        subscribers.delete(fn);
        if (subscribers.size > 0 || timer === null) return;
        stopTimer(timer);
        timer = null;
        document.removeEventListener("visibilitychange", fire);
      };
    },
  };
}

/** Call `fn` on the page's one ticker; returns the function that stops it. */
export function onTick(fn) {
  shared.ticker ??= makeTicker();
  return shared.ticker.add(fn);
}

// -- transports: the only functions that talk to the lease (swappable) ------------------------

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

// What the server extension answered this page (`own`: share it with the other views of the
// server, in every tab) or another view passed on: the newer reading wins, as in the status item.
function publish(answer, own) {
  const server = shared.server;
  server.state = "ok";
  const previous = server.answer;
  if (previous === null || newer(previous.reading, answer.reading) === answer.reading) {
    server.answer = answer;
  }
  if (answer.hostOffsetMs !== null) {
    shared.clock.offset = answer.hostOffsetMs;
    shared.clock.source = "lease-api";
  }
  if (own) {
    if (shared.channel) shared.channel.post(answer);
  } else {
    server.lastAttempt = Date.now(); // another view's answer is as good as our own GET
  }
  for (const fn of [...server.listeners]) {
    try {
      fn(answer);
    } catch (err) {
      console.error("jupyter_lease countdown:", err);
    }
  }
}

// The page's one channel to the server's other views (channel.js), opened with the first call
// to the server extension; the scope is the status item's: the absolute base URL.
function joinChannel(base) {
  if (shared.channel !== undefined) return;
  shared.channel = null;
  const scope = scopeOf(globalThis.location && globalThis.location.href, base);
  if (scope === null) return;
  const from = `widgets-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    shared.channel = openChannel(scope, from, (answer) => publish(answer, false));
  } catch {
    shared.channel = null; // no channel: this page's views still poll
  }
}

async function getLease(base) {
  const server = shared.server;
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
    const answer = status === 200 ? leaseAnswer(body, sent, received) : null;
    if (answer === null) {
      server.state = "failing"; // 503 not configured, 502 ModelArts failed, ...: the kernel's
      return null;
    }
    publish(answer, true);
    return answer;
  } catch {
    server.state = "failing"; // network error or timeout: try again later
    return null;
  } finally {
    server.inflight = null;
  }
}

// GET the lease from the server extension; every view hears the answer (publish). Resolves to
// the answer (channel.js's Answer), or null (no server extension, or it failed this time).
export async function fetchLease({ minAge = 0 } = {}) {
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
  joinChannel(base);
  server.lastAttempt = Date.now();
  server.inflight = getLease(base);
  return server.inflight;
}

export function refreshDue() {
  const server = shared.server;
  if (server.state === "absent" || server.inflight || server.lastAttempt === null) return false;
  const wait = server.state === "failing" ? RETRY_MS : REFRESH_MS;
  return Date.now() - server.lastAttempt >= wait;
}

async function sendExtend(base, duration) {
  const headers = { "Content-Type": "application/json" };
  const xsrf = xsrfToken();
  if (xsrf !== null) headers["X-XSRFToken"] = xsrf;
  return callApi(
    `${base}${EXTEND_API}`,
    { method: "POST", headers, body: JSON.stringify({ duration }) },
    EXTEND_TIMEOUT_MS,
  );
}

// POST an extension to the server extension. Resolves to {reading} or {error}, or null when no
// server extension answers (then the caller asks the kernel).
async function postExtend(duration) {
  const base = pageBaseUrl();
  if (base === null || shared.server.state === "absent") return null;
  let sent;
  try {
    sent = await sendExtend(base, duration);
  } catch (err) {
    if (err && err.name === "AbortError") {
      // The renewal may have gone through: never send it again through the kernel.
      return { error: "extend: no answer from the Jupyter server; check the lease before retrying" };
    }
    return null; // network error: no server to talk to
  }
  const { status, body } = sent;
  if (status === 404 || status === 503) return null; // no extension / it is not configured here
  if (status === 200) {
    const answer = leaseAnswer(body, sent.sent, sent.received);
    if (answer === null) return { error: "extend: the Jupyter server's answer was not a lease" };
    joinChannel(base);
    publish(answer, true);
    return { reading: answer.reading };
  }
  const line = body && typeof body === "object" ? oneLine(body.error || body.message) : "";
  return { error: line || `extend failed: HTTP ${status} from the Jupyter server` };
}

// Extend by `duration`: through the Jupyter server when it has the extension, else the kernel.
// Resolves to {via: "server", reading} | {via: "server", error} | {via: "kernel"}.
export async function requestExtend(model, duration) {
  const result = await postExtend(duration);
  if (result !== null) return { via: "server", ...result };
  model.send({ type: "extend", duration });
  return { via: "kernel" };
}
