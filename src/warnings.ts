// The one threshold engine of the page set. At each threshold of each deadline, the warner tab
// (elect.ts: the visible, focused one where there is one) shows one JupyterLab notification
// (toast + notification centre) with an Extend of the one default duration, where it lengthens
// the lease; while the page is hidden, a system notification too; a beep where the user wants one.
// Tabs.claim makes each warning once across every tab of the server, also across a hand-over.
//
// The toast is live: its text is rewritten at every repaint of the status item, from the same
// presentation, so it never says "1:59 left" while the bar says 0:23. The next threshold replaces
// it; a deadline that moved (an Extend anywhere) closes it; at the stop it gives way to one toast
// that says so, with no Extend. Every toast stays until dismissed or replaced.
//
// A page opened late (several thresholds already passed) warns once, for the most urgent one:
// Presentation.threshold is the smallest threshold crossed. An extension gives a new deadline:
// every threshold re-arms.

import { Notification } from '@jupyterlab/apputils';

import { canOffer, stopLine } from './stop';
import { choiceLabel, firstChoice, lengthening } from './choices';
import type { Election } from './elect';
import { lang, trans } from './i18n';
import { beep, systemNotification } from './os-alerts';
import { choicesFor, type LeaseSettings } from './settings';
import type { LeaseStore } from './store';
import type { Tabs } from './tabs';
import { warningDue } from './warn-due';
import {
  formatRemaining,
  type Presentation,
  type ReadingJSON
} from '../jupyter_lease/static/present.js';

const TITLE_PREFIX = /^⏳ [^·]* · /; // the cell widget's prefix too: never two of them
const FRESH_MS = 60 * 1000; // a warning from a reading older than this is checked first
const MOVED_MS = 2000; // a deadline that moved less than this is the same deadline
const EXPIRED_READ_MS = 10 * 1000; // past the deadline: read again this often (has it stopped?)

interface Shown {
  id: string;
  deadline: number | null;
  text: string;
  extend: string | null;
}

export class Warner {
  private readonly done = new Set<string>();
  private shown: Shown | null = null;
  private deadline: number | null = null; // the last deadline seen: the stop notice's key

  constructor(
    private readonly store: LeaseStore,
    private readonly tabs: Tabs,
    private readonly election: Election,
    private readonly settings: () => LeaseSettings,
    private readonly present: () => Presentation
  ) {}

  /** Called on every repaint of the status item with what the views show. */
  check(p: Presentation, reading: Partial<ReadingJSON>): void {
    if (p.stage === 'expired' && this.store.age() > EXPIRED_READ_MS) void this.store.refresh();
    if (p.stage === 'stopped') {
      this.stopped(p, reading);
      return;
    }
    const deadline = typeof reading.deadline_ms === 'number' ? reading.deadline_ms : null;
    if (deadline !== null) this.deadline = deadline;
    this.follow(p, deadline);
    const due = warningDue(p, reading, this.settings().notifications);
    if (due === null || this.done.has(due.key) || !this.election.isWarner) return;
    this.done.add(due.key);
    if (p.stage !== 'expired') void this.warn(due.key, due.deadline);
  }

  dispose(): void {
    this.close();
  }

  /** Keep the toast true: the time left now, or gone once its deadline moved. */
  private follow(p: Presentation, deadline: number | null): void {
    const shown = this.shown;
    if (shown === null) return;
    const moved = deadline === null || shown.deadline === null;
    if (moved || Math.abs(deadline - (shown.deadline as number)) > MOVED_MS) {
      this.close();
      return;
    }
    if (p.remainingMs !== null) {
      setTitle(`⏳ ${formatRemaining(p.remainingMs / 1000, lang)} · `);
    }
    const text = toastText(p);
    const extend = this.extendChoice(p);
    if (text === shown.text && extend === shown.extend) return;
    const updated = Notification.update({
      id: shown.id,
      message: text,
      type: toastType(p),
      actions: this.actions(extend)
    });
    if (updated) this.shown = { ...shown, text, extend };
    else this.close(); // the user closed it
  }

  private async warn(key: string, deadline: number): Promise<void> {
    if (this.store.age() > FRESH_MS) await this.store.refresh(); // renewed elsewhere?
    if (this.store.reading.deadline_ms !== deadline) return; // it was: the next tick decides
    if (!(await this.tabs.claim(key))) return; // another tab of this server warned
    const p = this.present();
    if (p.warning === null) return;
    this.show(p, deadline);
    this.reach(p.warning, key, trans.__('Lease running out'));
  }

  /** At the stop: no warning stays up; one toast (once across the tabs) says what happened. */
  private stopped(p: Presentation, reading: Partial<ReadingJSON>): void {
    if (this.shown?.deadline !== null) this.close(); // a warning's toast, not the stop's own
    const deadline = this.deadline;
    if (deadline === null || !this.election.isWarner) return; // a tab opened after the stop
    const key = `stop|${reading.source_id ?? ''}|${deadline}`;
    if (this.done.has(key)) return;
    this.done.add(key);
    void this.tabs.claim(key).then(won => {
      if (!won) return;
      const text = toastText(p);
      const id = Notification.emit(text, 'error', { autoClose: false, actions: [] });
      this.shown = { id, deadline: null, text, extend: null };
      this.reach(text, key, trans.__('The instance has stopped'));
    });
  }

  /** The toast for `p`, replacing the one before it. */
  private show(p: Presentation, deadline: number): void {
    this.close();
    const text = toastText(p);
    const extend = this.extendChoice(p);
    const actions = this.actions(extend);
    const id = Notification.emit(text, toastType(p), { autoClose: false, actions });
    this.shown = { id, deadline, text, extend };
  }

  /** Beyond the page: a system notification while it is hidden, the beep if wanted. */
  private reach(text: string, key: string, title: string): void {
    const settings = this.settings();
    if (settings.browserNotifications && document.visibilityState === 'hidden') {
      systemNotification(title, text, key);
    }
    if (settings.sound) beep();
  }

  /** The duration the toast's Extend offers: the one default, else the shortest that lengthens. */
  private extendChoice(p: Presentation): string | null {
    const reading = this.store.reading;
    if (!canOffer(p, reading)) return null;
    const { extendChoices, extendDefault } = this.settings();
    const offered = choicesFor(
      extendChoices,
      reading.extend_choices ?? [],
      reading.extend_range_ms
    );
    return firstChoice(lengthening(offered, p.remainingMs), extendDefault);
  }

  private actions(choice: string | null): Notification.IAction[] {
    if (choice === null) return [];
    const label = choiceLabel(choice, lang);
    return [
      {
        label: trans.__('Extend %1', label),
        caption: trans.__('Keep this instance running %1 from now', label),
        displayType: 'accent',
        callback: () => void this.extend(choice)
      }
    ];
  }

  private async extend(duration: string): Promise<void> {
    const error = await this.store.extend(duration);
    if (error !== null) Notification.error(error, { autoClose: 10_000 });
  }

  /** Drop this tab's toast and the title prefix it owned. */
  private close(): void {
    if (this.shown === null) return;
    Notification.dismiss(this.shown.id);
    this.shown = null;
    setTitle(null);
  }
}

/** The toast's words: the live warning; past the deadline or at the stop, what happened. */
function toastText(p: Presentation): string {
  if (p.stage === 'stopped') return stopLine(p);
  if (p.stage === 'expired') return trans.__('%1 — save your work.', capital(p.headline));
  return p.warning ?? p.headline;
}

function toastType(p: Presentation): Notification.TypeOptions {
  return p.stage === 'warning' ? 'warning' : 'error';
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function setTitle(prefix: string | null): void {
  const base = document.title.replace(TITLE_PREFIX, '');
  const wanted = prefix ? `${prefix}${base}` : base;
  if (document.title !== wanted) document.title = wanted;
}
