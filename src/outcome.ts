// What a call to the server extension gave, from the HTTP answer: pure (no JupyterLab import), so
// that the lab extension (api.ts, through ServerConnection) and the cell widget where no lab
// extension runs (widget/fetch.ts, through fetch) make the same calls (paths, bounds, bodies,
// timing) and parse every answer the same way; each brings only its way of sending.

import type { Answer, Outcome, Raw } from './api';
import { leaseAnswer } from '../jupyter_lease/static/channel.js';
import { oneLine } from '../jupyter_lease/static/present.js';

/** How a page reads and extends the lease: the lab extension's calls, or the widget's own. */
export interface Transport {
  getLease(): Promise<Outcome>;
  /** `basisMs`: the deadline the page showed (one end time per request, see the server). */
  postExtend(duration: string, basisMs?: number | null): Promise<Outcome>;
}

const LEASE_PATH = 'jupyter-lease/api/lease';
const EXTEND_PATH = 'jupyter-lease/api/lease/extend';
const GET_TIMEOUT_MS = 30_000;
const EXTEND_TIMEOUT_MS = 90_000; // RenewLease with its retries, then the read-back

/** How a transport sends one request under the server's base URL, bounded by `timeoutMs`. */
export type Requester = (path: string, init: RequestInit, timeoutMs: number) => Promise<Raw>;

/** The lease's two calls, sent by `request`. */
export function leaseCalls(request: Requester): Transport {
  return {
    getLease: async () => outcomeOf(await request(LEASE_PATH, { method: 'GET' }, GET_TIMEOUT_MS)),
    postExtend: async (duration, basisMs) => {
      const body = { duration, basis_ms: basisMs ?? undefined };
      return outcomeOf(await request(EXTEND_PATH, postInit(body), EXTEND_TIMEOUT_MS));
    }
  };
}

/** A POST of `body` as JSON. */
export function postInit(body: unknown): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body)
  };
}

/** `send(signal)`'s answer (any status) with when it was sent and received, or why none came
 * within `timeoutMs` (the signal aborts it then). */
export async function timed(
  send: (signal: AbortSignal) => Promise<Response>,
  timeoutMs: number
): Promise<Raw> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const sent = Date.now();
  try {
    const response = await send(controller.signal);
    const body: unknown = await response.json().catch(() => null);
    return { ok: true, status: response.status, body, sent, received: Date.now() };
  } catch (err) {
    return unreachable(err, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

/** Why a non-200 answer is not one, in the server's own line where it gave one. */
export function failureOf(status: number, body: unknown): Extract<Outcome, { ok: false }> {
  const said = body && typeof body === 'object' ? (body as { error?: unknown }).error : null;
  const error = oneLine(said) || `the lease API answered HTTP ${status}`;
  if (status === 404) return { ok: false, kind: 'absent', status, error };
  const refused = (status >= 400 && status < 500) || status === 503;
  return { ok: false, kind: refused ? 'refused' : 'failed', status, error };
}

/** The one parse of a lease answer (a GET's or an Extend's), whoever made the call. */
export function outcomeOf(raw: Raw): Outcome {
  if (!raw.ok) return raw;
  if (raw.status !== 200) return failureOf(raw.status, raw.body);
  const answer = leaseAnswer(raw.body, raw.sent, raw.received) as Answer | null;
  if (answer) return { ok: true, answer };
  const error = 'the lease API answered something else';
  return { ok: false, kind: 'failed', status: raw.status, error };
}

/** A request that got no answer (timed out, or the server cannot be reached), in one line. */
export function unreachable(err: unknown, timeoutMs: number): Raw {
  const timedOut = (err as Error | null)?.name === 'AbortError';
  const error = timedOut
    ? `no answer from the Jupyter server in ${timeoutMs / 1000} s`
    : 'the Jupyter server cannot be reached';
  return { ok: false, kind: 'failed', status: 0, error };
}
