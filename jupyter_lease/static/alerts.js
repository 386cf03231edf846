// jupyter_lease: the countdown's alerts, page-wide — the tab title, the thresholds fired (once
// per deadline, also across a reload of the tab), and browser notifications. Their state lives in
// effects.js's `shared`, so every view of the page (and a re-import of this module) agrees.

import { shared } from "./effects.js";

const TITLE_PREFIX = /^⏳ [^·]* · /;
const FIRED_STORAGE_KEY = "jupyter-lease-fired";

// -- the tab title: the most urgent countdown on the page wins ---------------------------------

export function setTitle(viewId, entry) {
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

// -- thresholds fired, per lease and threshold: the deadline they fired for ---------------------

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

// The thresholds crossed (remaining <= t) that have not fired for this deadline yet; marks them
// fired. `deadline` is the source's own number: a re-measured clock offset never moves it, so
// only a real extension (a later deadline) re-arms them. Several at once (a page opened late):
// only the most urgent one is returned.
export function newlyCrossed(leaseId, deadline, remainingMs, warnAt) {
  const fired = firedMap();
  let due = null;
  for (const t of warnAt) {
    if (remainingMs > t * 1000) continue;
    const key = `${leaseId}|${t}`;
    const firedFor = fired.get(key);
    if (firedFor !== undefined && deadline <= firedFor) continue;
    fired.set(key, deadline);
    if (due === null || t < due) due = t;
  }
  if (due !== null) saveFired();
  return due;
}

/** A browser notification `{title, body, tag, urgent}`, where the user allowed them. */
export function notify(note) {
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
  try {
    const shown = new Notification(note.title, {
      body: note.body,
      tag: note.tag,
      requireInteraction: note.urgent,
    });
    shown.onclick = () => {
      window.focus();
      shown.close();
    };
  } catch {
    /* some browsers allow Notification only from a service worker */
  }
}
