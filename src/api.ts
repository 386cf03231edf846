// The calls to the server extension (jupyter_lease/server/handlers.py), through JupyterLab's
// ServerConnection: it adds the base URL, the login and the `_xsrf` cookie as X-XSRFToken, so a
// POST passes jupyter_server's XSRF check with a token or without one.

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { failureOf, leaseCalls, postInit, timed, type Transport } from './outcome';
import { leaseAnswer } from '../jupyter_lease/static/channel.js';
import type { ReadingJSON } from '../jupyter_lease/static/present.js';

export { failureOf, postInit };


/** `c.JupyterLease` as the server serves it (jupyter_lease/server/frontend.py), parsed. */
export interface ServerSettings {
  warnAtMs: number[];
  extendChoices: string[];
  notifications: boolean;
  /** c.JupyterLease.extend_default: what Extend offers first; null from an older server. */
  extendDefault: string | null;
}

/**
 * A reading as it came, the serving host's clock minus the browser's (ms), if measured, and
 * the server's settings (null from a server that sends none).
 */
export interface Answer {
  reading: Partial<ReadingJSON>;
  hostOffsetMs: number | null;
  settings: ServerSettings | null;
  keepAlive: KeepAliveSummary | null;
  /** The server-side alerts' last outcome (channels by scheme only); null: none configured. */
  notify?: NotifyStatus | null;
  /** The server pushes new readings (jupyter_lease/server/push.py); its own answers only. */
  push?: boolean;
}

/** The lease answer's `notify` (jupyter_lease/notify/sender.py, `Sender.status`). */
export interface NotifyStatus {
  ok: boolean;
  /** Why the last send failed, one line of the server's (never a URL). */
  error: string | null;
  at: number | null;
  /** "json://…": schemes only. */
  channels: string[];
}

/** The lease answer's `keep_alive` (jupyter_lease/server/busy.py, `BusyKeeper.summary`). */
export interface KeepAliveSummary {
  on: boolean;
  /** "kept alive while busy, until 18:00 UTC at the latest; …" in the server's zone */
  line: string;
  cap_ms: number | null;
  last_renewal: Renewal | null;
  /** Why it is off when nobody turned it off. */
  note?: string;
  /** Renews when less than this is left. */
  margin_s?: number;
}

export interface Renewal {
  /** Stable across clock offsets (at_ms moves with them): announce each renewal once by it. */
  id?: string;
  at_ms: number;
  why: string;
  until_ms: number;
  added_ms: number;
}

/**
 * What a call gave: an answer, or why not. `absent`: no server extension (404); `refused`: the
 * server said no on purpose (4xx, 503 not configured); `failed`: 5xx, network, timeout.
 */
export type Outcome =
  | { ok: true; answer: Answer }
  | { ok: false; kind: 'absent' | 'refused' | 'failed'; status: number; error: string };

/** A call that got an HTTP answer (any status), or why it got none ("absent": nothing to ask). */
export type Raw =
  | { ok: true; status: number; body: unknown; sent: number; received: number }
  | { ok: false; kind: 'absent' | 'failed'; status: 0; error: string };

/** One call to the server extension under `{base_url}`, bounded by `timeoutMs`. */
export function request(path: string, init: RequestInit, timeoutMs: number): Promise<Raw> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, path);
  return timed(
    signal => ServerConnection.makeRequest(url, { cache: 'no-store', ...init, signal }, settings),
    timeoutMs
  );
}

/** The event the server pushes (server/push.py), as JupyterLab's event stream delivers it. */
export const PUSH_SCHEMA_ID = 'https://events.jupyter.org/jupyter_lease/lease/v1';

/**
 * A pushed view as an Answer (the same parse as a GET's), or null for any other event. It
 * measures no clock: a push has no round trip to halve, so the page keeps the offset to the
 * host that its last GET measured.
 */
export function pushedAnswer(event: { schema_id?: unknown }): Answer | null {
  if (event.schema_id !== PUSH_SCHEMA_ID) return null;
  const answer = leaseAnswer(event, 0, 0) as Answer | null;
  return answer && { ...answer, hostOffsetMs: null };
}

/** The lab extension's calls, for the page's store. */
export const serverConnection: Transport = leaseCalls(request);
