// The always-visible item: "⏳ 1 h 05 min" (m:ss inside 10 min), coloured by stage, in JupyterLab's
// status bar or Notebook 7's top bar. It ticks once a second from the absolute deadline (the
// browser's clock corrected by the measured offset), so a tab that slept shows the true time
// the moment it wakes. Text only through textContent; no element ids (ModelArts' own timer
// uses `lease-dur`: nothing here may collide with it).

import { Widget } from '@lumino/widgets';

import type { LeaseStore } from './store';
import { formatRemaining, type Presentation } from '../jupyter_lease/static/present.js';

const TICK_MS = 1000;
const TIMED = ['plenty', 'warning', 'critical'];

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
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly store: LeaseStore,
    private readonly present: () => Presentation,
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
    this.timer = setInterval(this.tick, TICK_MS);
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
  };

  dispose(): void {
    if (this.isDisposed) return;
    if (this.timer !== null) clearInterval(this.timer);
    document.removeEventListener('visibilitychange', this.tick);
    this.store.changed.disconnect(this.tick, this);
    super.dispose();
  }
}
