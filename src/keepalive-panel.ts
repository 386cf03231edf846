// The panel's "Keep alive while busy" section: a switch with its cap (for 2–24 h, or until a time
// of day), the policy's line from the server (its cap, the last automatic renewal), how much of
// the cap the renewals used, and a refusal in one line. DOM through textContent only.

import { element, setText } from './dom';
import { trans } from './i18n';
import { keepAliveCall } from './keepalive';
import {
  policyLine,
  renewalId,
  untilMs,
  usedText,
  type KeepAliveView
} from './keepalive-text';
import type { LeaseStore } from './store';

const CAPS = ['2h', '4h', '8h', '24h'];
const DEFAULT_CAP = '8h';


export class KeepAliveSection {
  readonly node = element('div', 'jp-LeaseKeepAlive');
  private readonly toggle = element('input', 'jp-LeaseKeepAlive-switch');
  private readonly cap = element('select', 'jp-LeaseKeepAlive-for');
  private readonly until = element('input', 'jp-LeaseKeepAlive-until');
  private readonly line = element('div', 'jp-LeaseKeepAlive-line');
  private readonly used = element('div', 'jp-LeaseKeepAlive-used');
  private readonly error = element('div', 'jp-LeaseKeepAlive-error');
  private view: KeepAliveView | null = null;
  private busy = false;
  private renewedSeen: string | null = null;

  constructor(private readonly store: LeaseStore) {
    this.toggle.type = 'checkbox';
    this.toggle.addEventListener('change', () => void this.change(this.toggle.checked));
    const label = element('label', 'jp-LeaseKeepAlive-label');
    label.append(this.toggle, document.createTextNode(` ${trans.__('Keep alive while busy')}`));
    this.cap.setAttribute('aria-label', trans.__('for at most'));
    const option = (c: string) => element('option', '', trans.__('for %1', c));
    this.cap.append(...CAPS.map(c => Object.assign(option(c), { value: c })));
    this.cap.value = DEFAULT_CAP;
    this.until.type = 'text';
    this.until.placeholder = trans.__('or until HH:MM');
    this.until.setAttribute('aria-label', trans.__('until'));
    this.until.size = 12;
    this.error.hidden = true;
    const limits = element('div', 'jp-LeaseKeepAlive-limits');
    limits.append(this.cap, this.until);
    this.node.append(label, limits, this.line, this.used, this.error);
  }

  /** Repaint from the store's summary (and the last full view, for the renewals). */
  update(): void {
    const summary = this.store.keepAlive;
    this.node.hidden = summary === null;
    if (summary === null) return;
    if (!this.busy) this.toggle.checked = summary.on; // while asking: what the user clicked
    this.toggle.disabled = this.busy;
    this.cap.disabled = this.until.disabled = this.busy || summary.on;
    setText(this.line, policyLine(summary, this.store.hostOffsetMs)); // the person's zone
    const renewed = summary.last_renewal ? renewalId(summary.last_renewal) : null;
    if (renewed !== null && renewed !== this.renewedSeen && this.node.isConnected) {
      this.renewedSeen = renewed; // a renewal since the view was read: read it again
      void this.load();
    }
    const used = this.view && this.view.renewals.length ? usedText(this.view) : '';
    const count = this.view?.renewals.length ?? 0;
    const renewals =
      count === 1
        ? trans.__('1 automatic renewal: %1', used)
        : trans.__('%1 automatic renewals: %2', count, used);
    setText(this.used, used ? renewals : '');
  }

  /** Read the whole policy (renewals, what the cap used): when the panel opens. */
  async load(): Promise<void> {
    const outcome = await keepAliveCall();
    if (outcome.ok) this.show(outcome.view);
  }

  /** A view read elsewhere (the renewal notifier's). */
  show(view: KeepAliveView): void {
    this.view = view;
    this.renewedSeen = view.last_renewal ? renewalId(view.last_renewal) : null;
    this.update();
  }

  private async change(on: boolean): Promise<void> {
    if (this.busy) return;
    const until = this.until.value.trim();
    // "until" is an instant: HH:MM read here, in the person's zone, not in the server's.
    const untilAt = until ? untilMs(until, this.store.hostOffsetMs) : null;
    if (on && until && untilAt === null) {
      setText(this.error, `⚠ ${JSON.stringify(until.slice(0, 20))} is not a time of day; use HH:MM, e.g. 18:00`);
      this.error.hidden = false;
      this.toggle.checked = false;
      return;
    }
    const cap = untilAt !== null ? { until_ms: untilAt } : { for: this.cap.value };
    const change = on ? { on, ...cap } : { on };
    this.busy = true;
    this.update();
    const outcome = await keepAliveCall(change);
    this.busy = false;
    setText(this.error, outcome.ok ? '' : `⚠ ${outcome.error}`);
    this.error.hidden = outcome.ok;
    if (outcome.ok) {
      this.view = outcome.view;
      await this.store.refresh(); // the summary reaches every tab with the lease
    }
    this.update();
  }
}

