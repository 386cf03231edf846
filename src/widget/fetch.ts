// The cell widget's calls to the server extension where no lab extension runs (JupyterLab 3.6,
// a classic page): plain fetch under the page config's base URL, with the `_xsrf` cookie echoed
// in X-XSRFToken as JupyterLab's ServerConnection does. Outside a Jupyter server page (VS Code,
// a bare kernel) there is nothing to call: "absent", and Extend goes to the kernel.

import type { Outcome, Raw } from '../api';
import { outcomeOf, unreachable, type Transport } from '../outcome';

const LEASE_PATH = 'jupyter-lease/api/lease';
const EXTEND_PATH = 'jupyter-lease/api/lease/extend';
const GET_TIMEOUT_MS = 30_000;
const EXTEND_TIMEOUT_MS = 90_000; // RenewLease with its retries, then the read-back

/** The page config's base URL ("/user/me/"), or null outside a Jupyter server page. */
export function pageBaseUrl(): string | null {
  if (typeof document === 'undefined') return null;
  const el = document.getElementById('jupyter-config-data');
  if (!el) return null;
  try {
    const base: unknown = JSON.parse(el.textContent || '{}').baseUrl;
    if (typeof base !== 'string') return null;
    return base.endsWith('/') ? base : `${base}/`;
  } catch {
    return null;
  }
}

function xsrfToken(): string | null {
  const match = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
  return match ? match[1] : null;
}

async function send(
  base: string,
  path: string,
  init: RequestInit,
  timeoutMs: number
): Promise<Raw> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const headers: Record<string, string> = { Accept: 'application/json' };
  const xsrf = xsrfToken();
  if (xsrf !== null) headers['X-XSRFToken'] = xsrf;
  if (init.body) headers['Content-Type'] = 'application/json';
  const sent = Date.now();
  try {
    const response = await fetch(`${base}${path}`, {
      credentials: 'same-origin',
      cache: 'no-store',
      ...init,
      headers,
      signal: controller.signal
    });
    const body: unknown = await response.json().catch(() => null);
    return { ok: true, status: response.status, body, sent, received: Date.now() };
  } catch (err) {
    return unreachable(err, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

async function call(path: string, init: RequestInit, timeoutMs: number): Promise<Outcome> {
  const base = pageBaseUrl();
  if (base === null) {
    return { ok: false, kind: 'absent', status: 0, error: 'not a Jupyter server page' };
  }
  return outcomeOf(await send(base, path, init, timeoutMs));
}

export const fetchTransport: Transport = {
  getLease: () => call(LEASE_PATH, { method: 'GET' }, GET_TIMEOUT_MS),
  postExtend: (duration, basisMs) =>
    call(
      EXTEND_PATH,
      { method: 'POST', body: JSON.stringify({ duration, basis_ms: basisMs ?? undefined }) },
      EXTEND_TIMEOUT_MS
    )
};
