// The cell widget's calls to the server extension where no lab extension runs (JupyterLab 3.6,
// a classic page): plain fetch under the page config's base URL, with the `_xsrf` cookie echoed
// in X-XSRFToken as JupyterLab's ServerConnection does. Outside a Jupyter server page (VS Code,
// a bare kernel) there is nothing to call: "absent", and Extend goes to the kernel.

import type { Raw } from '../api';
import { leaseCalls, timed, type Transport } from '../outcome';

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

/** One call under the page's base URL (fetch, the `_xsrf` cookie echoed), bounded by
 * `timeoutMs`; "absent" outside a Jupyter server page. */
function send(path: string, init: RequestInit, timeoutMs: number): Promise<Raw> {
  const base = pageBaseUrl();
  if (base === null) {
    const error = 'not a Jupyter server page';
    return Promise.resolve({ ok: false, kind: 'absent', status: 0, error });
  }
  const headers: Record<string, string> = {
    Accept: 'application/json',
    ...(init.headers as Record<string, string> | undefined)
  };
  const xsrf = xsrfToken();
  if (xsrf !== null) headers['X-XSRFToken'] = xsrf;
  return timed(
    signal =>
      fetch(`${base}${path}`, {
        credentials: 'same-origin',
        cache: 'no-store',
        ...init,
        headers,
        signal
      }),
    timeoutMs
  );
}

export const fetchTransport: Transport = leaseCalls(send);
