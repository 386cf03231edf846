// What the status item shows and when it can next change: pure functions of a presentation
// (present.js), no DOM, so that tests/frontend runs them under Node.

import { lang, trans } from './i18n.js'; // .js: tests/frontend run this module under Node
import { NEAR_END_S, shortText, type Presentation } from '../jupyter_lease/static/present.js';

const TIMED = ['plenty', 'warning', 'critical'];
const NEAR_END_MS = NEAR_END_S * 1000; // m:ss inside it (present.js)
export const IDLE_TICK_MS = 30_000; // no countdown: the store's news repaints; this is a safety net
const LATE_MS = 20; // repaint just after the change, never just before it

/**
 * Milliseconds until what the item shows can change: the next second inside 10 min, else the
 * next half minute (minutes are rounded) or the next threshold, whichever comes first.
 */
export function nextChangeMs(p: Presentation, warnAtS: number[]): number {
  const left = p.remainingMs;
  if (!TIMED.includes(p.stage) || left === null || !(left > 0)) return IDLE_TICK_MS;
  if (left <= NEAR_END_MS) return (left % 1000) + LATE_MS;
  const candidates = [((left - 30_000) % 60_000 + 60_000) % 60_000, left - NEAR_END_MS];
  for (const s of warnAtS) {
    if (s * 1000 < left) candidates.push(left - s * 1000);
  }
  return Math.min(...candidates) + LATE_MS;
}

/** The item's words for a presentation: present.js's short form, or why there is none. */
export function itemText(p: Presentation, absent: boolean): string {
  return absent ? trans.__('lease: no server extension') : shortText(p, lang);
}

/** The tooltip: the headline, the stop time (local and UTC), the source. */
export function itemTooltip(p: Presentation, source: string, error: string | null): string {
  const lines = [trans.__('Lease: %1', p.headline)];
  if (p.detail) lines.push(p.detail);
  else if (error) lines.push(error);
  if (source) lines.push(trans.__('source: %1', source));
  lines.push(trans.__('Click for details and Extend'));
  return lines.join('\n');
}
