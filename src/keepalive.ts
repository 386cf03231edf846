// Keep alive while busy (issue 12), the browser's side: the policy's API, and one notification
// per automatic renewal across every tab of the server. The server decides and renews
// (jupyter_lease/server/busy.py); every lease answer carries its summary (`keep_alive`), so a
// renewal shows in each tab with the next answer — its own, or one another tab shared.

import { Notification } from '@jupyterlab/apputils';

import { failureOf, postInit, request, type KeepAliveSummary, type Renewal } from './api';
import type { LeaseStore } from './store';
import type { Tabs } from './tabs';
import { formatRemaining } from '../jupyter_lease/static/present.js';

const PATH = 'jupyter-lease/api/keep-alive';
const TIMEOUT_MS = 30_000;
const AFTER_MARGIN_MS = 45_000; // the server checks every 30 s (renew_check_every)
const TOAST_MS = 20_000;

/** `GET …/keep-alive` (jupyter_lease/server/busy.py, `BusyKeeper.view`): what the panel needs. */
export interface KeepAliveView extends KeepAliveSummary {
  since_ms: number | null;
  renewals: Renewal[];
  status: string;
}

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

/** A renewal's id: the server's (stable when the clock offset is measured again). */
export function renewalId(renewal: Renewal): string {
  return renewal.id ?? String(renewal.at_ms);
}

/** The policy in one line on this browser's clock and in its zone (the server's own line is
 * in the server's zone): the twin of busy_policy.policy_line. */
export function policyLine(summary: KeepAliveSummary, hostOffsetMs: number): string {
  const local = (ms: number) =>
    new Date(ms - hostOffsetMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const cap = summary.cap_ms;
  let line = summary.note ? `off: ${summary.note}` : 'off';
  if (summary.on && cap !== null && cap - hostOffsetMs > Date.now()) {
    line = `kept alive while busy, until ${local(cap)} at the latest`;
  } else if (summary.on && cap !== null) {
    line = `the cap (${local(cap)}) has passed: no more automatic renewals`;
  }
  const last = summary.last_renewal;
  return last ? `${line}; renewed automatically at ${local(last.at_ms)} — ${last.why}` : line;
}

/** "18:00" → the next 18:00 in this browser's zone (today, else tomorrow), as epoch ms on the
 * server host's clock; null when it is not a time of day. */
export function untilMs(text: string, hostOffsetMs: number, now = Date.now()): number | null {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match || Number(match[1]) > 23 || Number(match[2]) > 59) return null;
  const at = new Date(now);
  at.setHours(Number(match[1]), Number(match[2]), 0, 0);
  if (at.getTime() <= now) at.setDate(at.getDate() + 1);
  return at.getTime() + hostOffsetMs;
}

/** "2 of at most 8 h used" (whole hours), else "1 h 30 min of at most 8 h 00 min used". */
export function usedText(view: KeepAliveView): string {
  const since = view.since_ms ?? -Infinity;
  const used = view.renewals.filter(r => r.at_ms >= since).reduce((t, r) => t + r.added_ms, 0);
  if (view.cap_ms === null || view.since_ms === null) return '';
  const cap = Math.max(0, view.cap_ms - view.since_ms);
  const hour = 3_600_000;
  if (used % hour === 0 && cap % hour === 0) {
    return `${used / hour} of at most ${cap / hour} h used`;
  }
  return `${formatRemaining(used / 1000)} of at most ${formatRemaining(cap / 1000)} used`;
}

/** "Extended by 1 h while t.ipynb is running — 1 of at most 8 h used". */
export function renewalText(renewal: Renewal, view: KeepAliveView | null): string {
  const by = formatRemaining(renewal.added_ms / 1000).replace(/ 00 min$/, '');
  const why = renewal.why.replace(/ (was|were) running$/, (_, v) =>
    v === 'was' ? ' is running' : ' are running'
  );
  const used = view ? usedText(view) : '';
  return `Extended by ${by} while ${why}${used ? ` — ${used}` : ''}`;
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
