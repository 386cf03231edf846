// Keep alive while busy (issue 12), the browser's side: the policy's API, and one notification
// per automatic renewal across every tab of the server. The server decides and renews
// (jupyter_lease/server/busy.py); every lease answer carries its summary (`keep_alive`), so a
// renewal shows in each tab with the next answer — its own, or one another tab shared.

import { Notification } from '@jupyterlab/apputils';

import { failureOf, postInit, request, type KeepAliveSummary, type Renewal } from './api';
import { renewalId, renewalText, type KeepAliveView } from './keepalive-text';
import type { LeaseStore } from './store';
import type { Tabs } from './tabs';

const PATH = 'jupyter-lease/api/keep-alive';
const TIMEOUT_MS = 30_000;
const AFTER_MARGIN_MS = 45_000; // the server checks every 30 s (renew_check_every)
const TOAST_MS = 20_000;

export type KeepAliveOutcome = { ok: true; view: KeepAliveView } | { ok: false; error: string };

/** GET the policy, or POST a change (`{on, for|until, via}`): the policy after it. */
export async function keepAliveCall(change?: Record<string, unknown>): Promise<KeepAliveOutcome> {
  const init = change ? postInit({ ...change, via: 'panel' }) : { method: 'GET' };
  const raw = await request(PATH, init, TIMEOUT_MS);
  if (!raw.ok) return { ok: false, error: raw.error };
  if (raw.status !== 200) return { ok: false, error: failureOf(raw.status, raw.body).error };
  const view = raw.body as KeepAliveView | null;
  if (!view || typeof view.on !== 'boolean' || !Array.isArray(view.renewals)) {
    return { ok: false, error: 'the keep-alive API answered something else' };
  }
  return { ok: true, view };
}

/**
 * Notices automatic renewals in the answers the store gets, and tells of each once across tabs;
 * while the policy is on, re-reads the lease just after the margin so that the renewal shows
 * without waiting for the next poll.
 */
export class RenewalNotifier {
  private seen: string | null = null; // the newest renewal known (its id); null: none read yet
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly store: LeaseStore,
    private readonly tabs: Tabs,
    private readonly onView: (view: KeepAliveView) => void
  ) {
    store.changed.connect(this.check, this);
  }

  private check(): void {
    const summary = this.store.keepAlive;
    if (summary === null) return;
    this.expect(summary);
    const last = summary.last_renewal;
    const id = last ? renewalId(last) : '';
    const first = this.seen === null;
    if (!first && id === this.seen) return;
    this.seen = id;
    if (!first && last) void this.tell(last); // a renewal from before the page opened: no toast
  }

  private async tell(renewal: Renewal): Promise<void> {
    if (!(await this.tabs.claim(`renewal|${renewalId(renewal)}`))) return;
    const outcome = await keepAliveCall();
    if (outcome.ok) this.onView(outcome.view);
    Notification.info(renewalText(renewal, outcome.ok ? outcome.view : null), {
      autoClose: TOAST_MS
    });
  }

  private expect(summary: KeepAliveSummary): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const deadline = this.store.reading.deadline_ms;
    const offset = (this.store.reading.clock_offset_ms ?? 0) + this.store.hostOffsetMs;
    if (!summary.on || typeof deadline !== 'number' || !summary.margin_s) return;
    const due = deadline - offset - summary.margin_s * 1000 + AFTER_MARGIN_MS - Date.now();
    if (due > 0 && due < 2 ** 31 - 1) {
      this.timer = setTimeout(() => void this.store.refresh(), due);
    }
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.store.changed.disconnect(this.check, this);
  }
}
