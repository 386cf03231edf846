// One cell widget's view: a view of the page's lease (page.ts) and of the kernel's `reading`
// (kernel/widget.py syncs it when it has news), whichever was read last for the same lease
// (present.js's `newer`); painted by paint.js at the page's ticks. It reads nothing, measures no
// clock, keeps no timer and raises no warning of its own: the page does (the lab extension's
// store and Warner, or widget/alone.ts where none runs). Its banner is what the presentation says.

import { IDLE_TICK_MS, nextChangeMs } from '../item-text';
import type { PageLease } from '../page';
import { trans, useCatalogue } from '../i18n';
import { build, fillChoices, label, look, paint } from './paint.js';
import {
  derive,
  newer,
  oneLine,
  type Presentation,
  type ReadingJSON
} from '../../jupyter_lease/static/present.js';

type Reading = Partial<ReadingJSON>;

const MESSAGE_SHOWN_MS = 60_000; // paint.js: an action's result line, then it is history
const WAITING_AFTER_MS = 3_000; // paint.js: "Waiting for the kernel" after this
const LATE_MS = 20;

/** What anywidget hands a view (ipywidgets 7 and 8 alike). */
export interface Model {
  get(name: string): any;
  on(event: string, fn: () => void): void;
  off(event: string, fn: () => void): void;
  send(content: unknown): void;
}

interface Note {
  text: string;
  tone: string;
  at: number;
}

interface Pending {
  since: number;
  via: 'server' | 'kernel';
}

export class CountdownView {
  private readonly dom: any;
  private disposed = false;
  private dismissed: number | null = null;
  private pending: Pending | null = null;
  private note: Note | null = null;
  private shown: Presentation | null = null;
  private kernelOffset: number | null = null; // no server to measure against: the kernel's clock
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly model: Model,
    el: HTMLElement,
    private readonly page: PageLease
  ) {
    useCatalogue(model.get('lang') || 'en', model.get('catalogue'));
    this.dom = build(el, trans);
    this.dom.root.dataset.page = page.owner; // whose lease it shows: the lab extension's or its own
    this.dom.extend.addEventListener('click', () => this.onExtend());
    this.dom.dismiss.addEventListener('click', () => {
      this.dismissed = this.shown ? this.shown.threshold : null;
      this.tick();
    });
    this.dom.notify.addEventListener('click', () => {
      if (typeof Notification === 'undefined') return;
      void Promise.resolve(Notification.requestPermission()).finally(() => this.tick());
    });
    fillChoices(this.dom.select, model.get('extend_choices') || [], model.get('extend_default'));
  }

  /**
   * The page's reading where it is of this widget's lease and the server extension answers
   * (while it fails, the kernel's own reading says what the kernel knows, error included).
   */
  private pageReading(own: Reading): Reading | null {
    const theirs = this.page.serverState() === 'ok' ? this.page.reading() : null;
    if (!theirs || theirs.kind === 'unknown') return null;
    const ownId = typeof own.source_id === 'string' ? own.source_id : '';
    return ownId && theirs.source_id && theirs.source_id !== ownId ? null : theirs;
  }

  /** The reading to show, and whose: the kernel's, or the page's (the server's) if newer. */
  private shownReading(): { reading: Reading; source: 'kernel' | 'server' } {
    const own: Reading = this.model.get('reading') || {};
    const known = this.pageReading(own);
    if (known === null) return { reading: own, source: 'kernel' };
    const reading = newer(own, known) ?? known;
    return { reading, source: reading === known ? 'server' : 'kernel' };
  }

  private hostOffset(): number {
    if (this.page.serverState() === 'ok') return this.page.hostOffsetMs();
    return this.kernelOffset ?? this.page.hostOffsetMs();
  }

  private present(reading: Reading): Presentation {
    const options = {
      warnAt: this.model.get('warn_at_s'),
      hostOffsetMs: this.hostOffset(),
      lang: this.model.get('lang') || 'en' // the kernel process's language
    };
    return derive(reading, Date.now(), options);
  }

  /** Repaint (at the page's ticks, and at every change of the model). */
  readonly tick = (): void => {
    if (this.disposed) return;
    const { reading, source } = this.shownReading();
    const p = this.present(reading);
    if (this.shown && this.shown.threshold !== p.threshold && p.threshold !== null) {
      this.dismissed = null; // a new threshold shows its banner again
    }
    this.shown = p;
    paint(this.dom, look(p, this.context(reading, source)));
    this.wake(p, source);
  };

  /**
   * The page's ticks follow the page's reading. A repaint they do not bring: a countdown only
   * the kernel knows (no server extension, or another lease), and this view's own lines
   * ("Waiting for the kernel" after 3 s, a result line that expires), each at its time.
   */
  private wake(p: Presentation, source: 'kernel' | 'server'): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const now = Date.now();
    const waits: number[] = [];
    // The page ticks for its own reading only: the kernel's (newer, or another lease) ticks here.
    if (source === 'kernel') {
      waits.push(Math.min(IDLE_TICK_MS, nextChangeMs(p, this.model.get('warn_at_s') || [])));
    }
    if (this.pending?.via === 'kernel' && now - this.pending.since < WAITING_AFTER_MS) {
      waits.push(WAITING_AFTER_MS - (now - this.pending.since) + LATE_MS);
    }
    if (this.note && now - this.note.at < MESSAGE_SHOWN_MS) {
      waits.push(MESSAGE_SHOWN_MS - (now - this.note.at) + LATE_MS);
    }
    if (waits.length) this.timer = setTimeout(this.tick, Math.min(...waits));
  }

  private context(reading: Reading, source: string): Record<string, unknown> {
    return {
      reading,
      source,
      lang: this.model.get('lang') || 'en',
      trans,
      dismissed: this.dismissed,
      pending: this.pending,
      note: this.note,
      busy: Boolean(this.model.get('busy')),
      notifications: Boolean(this.model.get('notifications')),
      permission: typeof Notification === 'undefined' ? 'unsupported' : Notification.permission,
      now: Date.now(),
      keepAlive: this.page.keepAlive()
    };
  }

  private say(text: string, tone: string): void {
    this.note = text ? { text, tone, at: Date.now() } : null;
  }

  // -- Extend: through the page's store where the server extension answers, else the kernel --

  private onExtend(): void {
    const duration: string = this.dom.select.value;
    if (!duration) return;
    const own: Reading = this.model.get('reading') || {};
    const viaServer = this.page.serverState() === 'ok' && this.pageReading(own) !== null;
    const mine: Pending = { since: Date.now(), via: viaServer ? 'server' : 'kernel' };
    this.pending = mine;
    this.note = null;
    this.tick();
    if (!viaServer) {
      this.model.send({ type: 'extend', duration }); // the kernel's busy/message end it
      return;
    }
    void this.page
      .extend(duration)
      .catch((err: unknown) => oneLine(`extend failed: ${(err as Error)?.message ?? err}`))
      .then(error => {
        if (this.disposed || this.pending !== mine) return;
        this.pending = null;
        const shown = this.present(this.page.reading());
        if (error === null) this.say(trans.__('Extended: %1', shown.headline), 'ok');
        else this.say(error, 'error');
        this.tick();
      });
  }

  /** The kernel's news: its busy flag and the line it answered an Extend with. */
  onMessage(): void {
    const text: string = this.model.get('message') || '';
    this.say(text, this.model.get('message_ok') ? 'ok' : 'error');
    this.tick();
  }

  /** The kernel's language changed (`%env LANGUAGE=zh_CN`, then a new value of `lang`). */
  onLanguage(): void {
    useCatalogue(this.model.get('lang') || 'en', this.model.get('catalogue'));
    label(this.dom, trans);
    this.tick();
  }

  onBusy(): void {
    if (!this.model.get('busy')) {
      this.onMessage(); // done: its message, even when the text is the same as last time
      if (this.pending !== null && this.pending.via === 'kernel') this.pending = null;
    }
    this.tick();
  }

  /** A live state change carries the kernel's clock: the anchor where no server measures. */
  onKernelNow(): void {
    const at = Number(this.model.get('kernel_now_ms'));
    if (Number.isFinite(at) && at > 0) this.kernelOffset = at - Date.now();
    this.tick();
  }

  onChoices(): void {
    fillChoices(
      this.dom.select,
      this.model.get('extend_choices') || [],
      this.model.get('extend_default')
    );
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }
}
