// The calls to the server extension (jupyter_lease/server/handlers.py), through JupyterLab's
// ServerConnection: it adds the base URL, the login and the `_xsrf` cookie as X-XSRFToken, so a
// POST passes jupyter_server's XSRF check with a token or without one.

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { failureOf, outcomeOf, unreachable, type Transport } from './outcome';
import { leaseAnswer } from '../jupyter_lease/static/channel.js';
import type { ReadingJSON } from '../jupyter_lease/static/present.js';

export { failureOf };

const LEASE_PATH = 'jupyter-lease/api/lease';
const EXTEND_PATH = 'jupyter-lease/api/lease/extend';
const GET_TIMEOUT_MS = 30_000;
const EXTEND_TIMEOUT_MS = 90_000; // RenewLease with its retries, then the read-back

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

/** A call that got an HTTP answer (any status), or why it got none. */
export type Raw =
  | { ok: true; status: number; body: unknown; sent: number; received: number }
  | { ok: false; kind: 'failed'; status: 0; error: string };

/** One call to the server extension under `{base_url}`, bounded by `timeoutMs`. */
export async function request(path: string, init: RequestInit, timeoutMs: number): Promise<Raw> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, path);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const sent = Date.now();
  try {
    const response = await ServerConnection.makeRequest(
      url,
      { cache: 'no-store', ...init, signal: controller.signal },
      settings
    );
    const body: unknown = await response.json().catch(() => null);
    return { ok: true, status: response.status, body, sent, received: Date.now() };
  } catch (err) {
    return unreachable(err, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

/** A POST of `body` as JSON. */
export function postInit(body: unknown): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body)
  };
}

async function call(path: string, init: RequestInit, timeoutMs: number): Promise<Outcome> {
  return outcomeOf(await request(path, init, timeoutMs));
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

/** GET the lease (the server answers from the machine's shared cache). */
export function getLease(): Promise<Outcome> {
  return call(LEASE_PATH, { method: 'GET' }, GET_TIMEOUT_MS);
}

/** POST an extension by `duration` ("1h"); the answer is the lease after it. */
export function postExtend(duration: string, basisMs?: number | null): Promise<Outcome> {
  const body = { duration, basis_ms: basisMs ?? undefined };
  return call(EXTEND_PATH, postInit(body), EXTEND_TIMEOUT_MS);
}

/** The lab extension's calls, for the page's store. */
export const serverConnection: Transport = { getLease, postExtend };
