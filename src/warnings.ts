// Warnings at each threshold: one JupyterLab notification (toast + notification centre) with an
// "Extend 1 h" action, a system notification where allowed, and the time left in the title of
// the tab that warned — once per threshold per deadline across every tab of the server.
//
// A page opened late (several thresholds already passed) warns once, for the most urgent one:
// Presentation.threshold is the smallest threshold crossed, and the larger ones are never due
// again for that deadline in this tab. An extension gives a new deadline: every threshold re-arms.

import { Notification } from '@jupyterlab/apputils';

import type { LeaseStore } from './store';
import type { LeaseSettings } from './settings';
import type { Tabs } from './tabs';
import { lang, trans } from './i18n';
import { warningDue } from './warn-due';
import {
  formatRemaining,
  type Presentation,
  type ReadingJSON
} from '../jupyter_lease/static/present.js';

const TITLE_PREFIX = /^⏳ [^·]* · /; // the cell widget's prefix too: never two of them
const FRESH_MS = 60 * 1000; // a warning from a reading older than this is checked first
const EXTEND_BY = '1h';

interface Owned {
  deadline: number;
  toast: string;
}

export class Warner {
  private readonly done = new Set<string>();
  private owned: Owned | null = null;

  constructor(
    private readonly store: LeaseStore,
    private readonly tabs: Tabs,
    private readonly settings: () => LeaseSettings,
    private readonly present: () => Presentation
  ) {}

  /** Called on every tick with what the views show. */
  check(p: Presentation, reading: Partial<ReadingJSON>): void {
    const due = warningDue(p, reading, this.settings().notifications);
    if (this.owned && this.owned.deadline !== due?.deadline) this.release();
    if (due === null) return;
    if (this.owned && p.remainingMs !== null) {
      setTitle(`⏳ ${formatRemaining(p.remainingMs / 1000, lang)} · `);
    }
    if (this.done.has(due.key)) return;
    this.done.add(due.key);
    void this.warn(due.key, due.deadline);
  }

  dispose(): void {
    this.release();
  }

  private async warn(key: string, deadline: number): Promise<void> {
    if (this.store.age() > FRESH_MS) await this.store.refresh(); // renewed elsewhere?
    if (this.store.reading.deadline_ms !== deadline) return; // it was: the next tick decides
    if (!(await this.tabs.claim(key))) return; // another tab of this server warns
    const p = this.present();
    if (p.warning === null) return;
    this.release();
    this.owned = { deadline, toast: this.toast(p) };
    this.systemNotification(p.warning, key);
  }

  private toast(p: Presentation): string {
    const canExtend = this.store.reading.can_extend === true;
    const actions: Notification.IAction[] = canExtend
      ? [
          {
            label: trans.__('Extend 1 h'),
            caption: trans.__('Keep this instance running 1 h from now'),
            displayType: 'accent',
            callback: () => void this.extend()
          }
        ]
      : [];
    const type = p.stage === 'warning' ? 'warning' : 'error';
    return Notification.emit(p.warning ?? p.headline, type, { autoClose: false, actions });
  }

  private async extend(): Promise<void> {
    const error = await this.store.extend(EXTEND_BY);
    if (error !== null) Notification.error(error, { autoClose: 10_000 });
  }

  private systemNotification(text: string, key: string): void {
    if (!this.settings().browserNotifications) return;
    if (typeof window.Notification === 'undefined') return;
    if (window.Notification.permission !== 'granted') return;
    try {
      const shown = new window.Notification(trans.__('Lease running out'), { body: text, tag: key });
      shown.onclick = () => {
        window.focus();
        shown.close();
      };
    } catch {
      /* some browsers allow notifications only from a service worker */
    }
  }

  /** Drop this tab's warning: its toast, and the title prefix it owned. */
  private release(): void {
    if (this.owned === null) return;
    Notification.dismiss(this.owned.toast);
    this.owned = null;
    setTitle(null);
  }
}

function setTitle(prefix: string | null): void {
  const base = document.title.replace(TITLE_PREFIX, '');
  const wanted = prefix ? `${prefix}${base}` : base;
  if (document.title !== wanted) document.title = wanted;
}
