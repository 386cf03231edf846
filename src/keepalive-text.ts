// Keep alive while busy, in words: what the panel and the renewal toast say. Pure functions of
// the server's answers (jupyter_lease/server/busy.py), no DOM, so that tests/frontend runs them
// under Node.

import type { KeepAliveSummary, Renewal } from './api';
import { formatRemaining } from '../jupyter_lease/static/present.js';

/** `GET …/keep-alive` (jupyter_lease/server/busy.py, `BusyKeeper.view`): what the panel needs. */
export interface KeepAliveView extends KeepAliveSummary {
  since_ms: number | null;
  renewals: Renewal[];
  status: string;
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
