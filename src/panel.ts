// The small panel a click on the item opens: time left, stop time, the source and its id, Extend
// with the reading's durations (only where the source can extend, only those that lengthen the
// lease, the one default first), the last error in one line, and once a one-line request for the
// permission to show system notifications; keep alive while busy and the server-side alerts
// (their channels by scheme, the last failure, the user file's editor) in sections of their own.
// Built with textContent only; closes on Escape, a click elsewhere or a second click on the item.

import { Widget } from '@lumino/widgets';

import { AlertsSection } from './alerts-panel';
import { firstChoice, lengthening } from './choices';
import { showDoctor } from './doctor';
import { element, setText } from './dom';
import { trans } from './i18n';
import { KeepAliveSection } from './keepalive-panel';
import type { KeepAliveView } from './keepalive-text';
import { askPermission, shouldAsk } from './os-alerts';
import { choicesFor, type LeaseSettings } from './settings';
import { canOffer } from './stop';
import type { LeaseStore } from './store';
import type { Presentation, ReadingJSON } from '../jupyter_lease/static/present.js';

const GAP = 4; // px between the item and the panel
const MARGIN = 8; // px kept from the window's edges


export class LeasePanel extends Widget {
  private readonly headline = element('div', 'jp-LeasePanel-headline');
  private readonly detail = element('div', 'jp-LeasePanel-detail');
  private readonly source = element('div', 'jp-LeasePanel-source');
  private readonly extendRow = element('div', 'jp-LeasePanel-extend');
  private readonly choice = element('select', 'jp-LeasePanel-choice');
  private readonly button = element(
    'button',
    'jp-LeasePanel-button jp-mod-styled',
    trans.__('Extend')
  );
  private readonly error = element('div', 'jp-LeasePanel-error');
  private readonly permission = element('div', 'jp-LeasePanel-permission');
  private readonly keepAlive: KeepAliveSection;
  private readonly alerts: AlertsSection;
  private busy = false;
  private readonly onOutside = (event: MouseEvent): void => {
    const target = event.target as Node;
    if (!this.node.contains(target) && !this.anchor.contains(target)) this.close();
  };
  private readonly onKey = (event: KeyboardEvent): void => {
    if (event.key === 'Escape') this.close();
  };

  constructor(
    private readonly store: LeaseStore,
    private readonly present: () => Presentation,
    private readonly settings: () => LeaseSettings,
    private readonly anchor: HTMLElement
  ) {
    super();
    this.addClass('jp-LeasePanel');
    this.node.setAttribute('role', 'dialog');
    this.node.setAttribute('aria-label', trans.__('Lease'));
    this.choice.setAttribute('aria-label', trans.__('Extend by'));
    this.button.addEventListener('click', () => void this.extend());
    this.extendRow.append(this.choice, this.button);
    const title = element('div', 'jp-LeasePanel-title', trans.__('Lease'));
    this.keepAlive = new KeepAliveSection(store);
    this.alerts = new AlertsSection(store);
    this.node.append(title, this.headline, this.detail, this.source, this.extendRow, this.error);
    this.node.append(this.permissionRow());
    const doctor = element('button', 'jp-LeasePanel-doctor', trans.__('Doctor report'));
    doctor.addEventListener('click', () => {
      this.close();
      void showDoctor();
    });
    this.node.append(this.keepAlive.node, this.alerts.node, doctor);
    store.changed.connect(this.update, this);
  }

  /** Show it beside the item (below it at the top of the window, above it at the bottom). */
  open(): void {
    if (!this.isAttached) Widget.attach(this, document.body);
    this.update();
    this.place();
    void this.keepAlive.load();
    void this.alerts.load();
    document.addEventListener('mousedown', this.onOutside, true);
    document.addEventListener('keydown', this.onKey, true);
  }

  close(): void {
    document.removeEventListener('mousedown', this.onOutside, true);
    document.removeEventListener('keydown', this.onKey, true);
    if (this.isAttached) Widget.detach(this);
    this.alerts.closed();
  }

  toggle(): void {
    if (this.isAttached) this.close();
    else this.open();
  }

  /** Repaint (called by the item's tick while open, and on news). */
  update(): void {
    if (!this.isAttached) return;
    const p = this.present();
    const reading = this.store.reading;
    this.node.dataset.stage = p.stage;
    setText(this.headline, p.headline);
    const stopped = p.stage === 'stopped';
    setText(this.detail, stopped || p.deadlineLocalMs !== null ? p.detail.split(' · ')[0] : '');
    setText(this.source, sourceLine(reading));
    this.fillChoices(p, reading);
    this.permission.hidden = !(this.settings().browserNotifications && shouldAsk());
    const error = this.store.lastError ?? reading.error ?? '';
    setText(this.error, error ? `⚠ ${error}` : '');
    this.error.hidden = !error;
    this.keepAlive.update();
    this.alerts.update();
  }

  /** The keep-alive policy as read elsewhere (after a renewal). */
  showKeepAlive(view: KeepAliveView): void {
    this.keepAlive.show(view);
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.close();
    this.store.changed.disconnect(this.update, this);
    super.dispose();
  }

  /** Extend's choices: only where it can be offered, only those that lengthen the lease. */
  private fillChoices(p: Presentation, reading: Partial<ReadingJSON>): void {
    const { extendChoices, extendDefault } = this.settings();
    const offered = choicesFor(extendChoices, reading.extend_choices ?? [], reading.extend_range_ms);
    const choices = canOffer(p, reading) ? lengthening(offered, p.remainingMs) : [];
    this.extendRow.hidden = choices.length === 0;
    const now = Array.from(this.choice.options, o => o.value);
    if (now.join() !== choices.join()) {
      const kept = choices.includes(this.choice.value) ? this.choice.value : null;
      this.choice.replaceChildren(
        ...choices.map(c => {
          const option = element('option', '', c);
          option.value = c;
          return option;
        })
      );
      this.choice.value = kept ?? firstChoice(choices, extendDefault) ?? '';
    }
    this.button.disabled = this.busy;
  }

  /** "Allow system notifications, so that …" [Allow]: asked once, from a click. */
  private permissionRow(): HTMLElement {
    const allow = element('button', 'jp-LeasePanel-allow jp-mod-styled', trans.__('Allow'));
    allow.addEventListener('click', () => {
      this.permission.hidden = true;
      void askPermission();
    });
    const reason = trans.__(
      'Allow system notifications, so that a warning reaches you while this tab is hidden.'
    );
    this.permission.append(element('span', '', reason), allow);
    this.permission.hidden = true;
    return this.permission;
  }

  private async extend(): Promise<void> {
    const duration = this.choice.value;
    if (!duration || this.busy) return;
    this.busy = true;
    this.button.textContent = trans.__('Extending…');
    this.update();
    try {
      await this.store.extend(duration);
    } finally {
      this.busy = false;
      this.button.textContent = trans.__('Extend');
      this.update();
    }
  }

  private place(): void {
    const rect = this.anchor.getBoundingClientRect();
    const style = this.node.style;
    const width = this.node.offsetWidth;
    style.left = `${Math.max(MARGIN, Math.min(rect.left, window.innerWidth - width - MARGIN))}px`;
    if (rect.top > window.innerHeight / 2) {
      style.top = '';
      style.bottom = `${window.innerHeight - rect.top + GAP}px`;
    } else {
      style.bottom = '';
      style.top = `${rect.bottom + GAP}px`;
    }
  }
}

function sourceLine(reading: Partial<ReadingJSON>): string {
  const source = reading.source ?? '';
  const id = reading.source_id ?? '';
  if (!source && !id) return '';
  return id && !source.includes(id) ? `${source} · ${id}` : source || id;
}

