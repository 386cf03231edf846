// The always-visible item: "⏳ 1 h 05 min" (m:ss inside 10 min), coloured by stage, in JupyterLab's
// status bar or Notebook 7's top bar. It repaints from the absolute deadline (the browser's clock
// corrected by the measured offset) when its text or stage can next change: every second inside
// 10 min, at the next half minute (formatRemaining rounds to the minute) or threshold before
// that, so a page costs next to nothing while the stop is far; a tab that slept repaints the
// moment it is shown. Text only through textContent; no element ids (ModelArts' own timer uses
// `lease-dur`: nothing here may collide with it).

import { Widget } from '@lumino/widgets';

import { IDLE_TICK_MS, itemText, itemTooltip, nextChangeMs } from './item-text';
import type { LeaseStore } from './store';
import type { Presentation } from '../jupyter_lease/static/present.js';

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
