// The always-visible item: "⏳ 1 h 05 min" (m:ss inside 10 min), coloured by stage, in JupyterLab's
// status bar or Notebook 7's top bar. It repaints from the absolute deadline (the browser's clock
// corrected by the measured offset) when its text or stage can next change: every second inside
// 10 min, at the next half minute (formatRemaining rounds to the minute) or threshold before
// that, so a page costs next to nothing while the stop is far; a tab that slept repaints the
// moment it is shown. Text only through textContent; no element ids (ModelArts' own timer uses
// `lease-dur`: nothing here may collide with it).

import { Widget } from '@lumino/widgets';

import type { LeaseStore } from './store';
import { formatRemaining, type Presentation } from '../jupyter_lease/static/present.js';

const TIMED = ['plenty', 'warning', 'critical'];
const NEAR_END_MS = 600_000; // m:ss inside 10 min (present.js)
const IDLE_TICK_MS = 30_000; // no countdown: the store's news repaints; this is a safety net
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

/** The item's words for a presentation: short, and honest about idle/off/stale/stopped. */
export function itemText(p: Presentation, absent: boolean): string {
  if (absent) return 'lease: no server extension';
  let text: string;
  if (TIMED.includes(p.stage) && p.remainingMs !== null) {
    text = `⏳ ${formatRemaining(p.remainingMs / 1000)}`;
  } else if (p.stage === 'expired') {
    text = '⏳ 0:00';
  } else {
    text = p.headline.replace(' (last known)', '');
  }
  return p.stale ? `${text} · stale` : text;
}

/** The tooltip: the headline, the stop time (local and UTC), the source. */
export function itemTooltip(p: Presentation, source: string, error: string | null): string {
  const lines = [`Lease: ${p.headline}`];
  if (p.detail) lines.push(p.detail);
  else if (error) lines.push(error);
  if (source) lines.push(`source: ${source}`);
  lines.push('Click for details and Extend');
  return lines.join('\n');
}

export class LeaseItem extends Widget {
  private readonly text = document.createElement('span');
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly store: LeaseStore,
    private readonly present: () => Presentation,
    private readonly warnAt: () => number[],
    private readonly onTick: (p: Presentation) => void,
    private readonly onOpen: () => void
  ) {
    super();
    this.addClass('jp-LeaseItem');
    this.node.setAttribute('role', 'button');
    this.node.tabIndex = 0;
    this.text.className = 'jp-LeaseItem-text';
    this.node.appendChild(this.text);
    this.node.addEventListener('click', () => this.onOpen());
    this.node.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        this.onOpen();
      }
    });
    store.changed.connect(this.tick, this);
    document.addEventListener('visibilitychange', this.tick);
    this.tick();
  }

  /** Repaint from the deadline; writes the DOM only where something changed. */
  readonly tick = (): void => {
    const p = this.present();
    const reading = this.store.reading;
    const text = itemText(p, this.store.state === 'absent');
    const tooltip = itemTooltip(p, reading.source ?? '', this.store.lastError);
    const stage = this.store.state === 'absent' ? 'unknown' : p.stage;
    if (this.text.textContent !== text) this.text.textContent = text;
    if (this.node.title !== tooltip) this.node.title = tooltip;
    if (this.node.dataset.stage !== stage) this.node.dataset.stage = stage;
    const stale = String(p.stale);
    if (this.node.dataset.stale !== stale) this.node.dataset.stale = stale;
    this.onTick(p);
    this.schedule(p);
  };

  /** One timer, re-armed by every repaint (store news and tab visibility repaint too). */
  private schedule(p: Presentation): void {
    if (this.isDisposed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(this.tick, Math.min(IDLE_TICK_MS, nextChangeMs(p, this.warnAt())));
  }

  dispose(): void {
    if (this.isDisposed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    document.removeEventListener('visibilitychange', this.tick);
    this.store.changed.disconnect(this.tick, this);
    super.dispose();
  }
}
