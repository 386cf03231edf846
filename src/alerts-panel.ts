// The panel's "Server alerts" section (issue 21): where the server sends its alerts, by scheme
// only (`json://…`, never a URL), the last send's failure in one line, and a small editor of the
// user file (`POST jupyter-lease/api/notify`, jupyter_lease/server/notify_server.py). The URLs
// typed are secrets: they go into the POST body and nowhere else — the field is emptied once
// saved and when the panel closes, and nothing here writes them to storage, the DOM or a log.

import { failureOf, postInit, request, type NotifyStatus } from './api';
import { element, setText } from './dom';
import { trans } from './i18n';
import type { LeaseStore } from './store';
import { notifyStatus } from '../jupyter_lease/static/channel.js';
import { oneLine } from '../jupyter_lease/static/present.js';

const PATH = 'jupyter-lease/api/notify';
const TIMEOUT_MS = 30_000;
const RELOAD_MS = 5_000; // while open: the GET answers from the server's memory

/** The endpoint's answer: channels as schemes, the file's problems, the last send. */
export interface AlertsView {
  shown: string[];
  problems: string[];
  status: NotifyStatus | null;
}

export type AlertsOutcome =
  | { ok: true; view: AlertsView }
  | { ok: false; absent: boolean; error: string };

/** GET the alerts' view, or POST the user file's URLs: the view after it. */
export async function alertsCall(urls?: string[]): Promise<AlertsOutcome> {
  const init = urls ? postInit({ urls }) : { method: 'GET' };
  const raw = await request(PATH, init, TIMEOUT_MS);
  if (!raw.ok) return { ok: false, absent: false, error: raw.error };
  if (raw.status !== 200) {
    const failure = failureOf(raw.status, raw.body);
    return { ok: false, absent: failure.kind === 'absent', error: failure.error };
  }
  const view = alertsView(raw.body);
  if (view) return { ok: true, view };
  return { ok: false, absent: false, error: 'the alerts API answered something else' };
}

/** The endpoint's JSON as an AlertsView, or null when it is not one. */
export function alertsView(body: unknown): AlertsView | null {
  if (!body || typeof body !== 'object') return null;
  const { channels, problems, status } = body as Record<string, unknown>;
  if (!Array.isArray(channels) || !Array.isArray(problems)) return null;
  const shown = channels
    .map(c => (c && typeof c === 'object' ? (c as { shown?: unknown }).shown : null))
    .filter((s): s is string => typeof s === 'string');
  const lines = problems.map(oneLine).filter(Boolean);
  return { shown, problems: lines, status: notifyStatus(status) };
}

/** The newer of two outcomes (by `at`; the first when neither says). */
function latest(a: NotifyStatus | null, b: NotifyStatus | null): NotifyStatus | null {
  if (a === null || b === null) return a ?? b;
  return (b.at ?? -Infinity) > (a.at ?? -Infinity) ? b : a;
}

export class AlertsSection {
  readonly node = element('div', 'jp-LeaseAlerts');
  private readonly channels = element('div', 'jp-LeaseAlerts-channels');
  private readonly failure = element('div', 'jp-LeaseAlerts-failure');
  private readonly problems = element('div', 'jp-LeaseAlerts-problems');
  private readonly editor = element('details', 'jp-LeaseAlerts-edit');
  private readonly urls = element('textarea', 'jp-LeaseAlerts-urls');
  private readonly save = element('button', 'jp-LeaseAlerts-save jp-mod-styled', trans.__('Save'));
  private readonly said = element('div', 'jp-LeaseAlerts-said');
  private view: AlertsView | null = null;
  private loadedAt = -Infinity;
  private absent = false; // a server without the endpoint: not asked again
  private busy = false;

  constructor(private readonly store: LeaseStore) {
    const title = element('div', 'jp-LeaseAlerts-title', trans.__('Server alerts'));
    this.node.append(title, this.channels, this.failure, this.problems, this.editorNode());
    this.node.hidden = true; // until the endpoint answered: an older server has none
  }

  /** Read the endpoint (when the panel opens, and every few seconds while it is open). */
  async load(): Promise<void> {
    this.loadedAt = Date.now();
    const outcome = await alertsCall();
    if (outcome.ok) this.view = outcome.view;
    else if (outcome.absent) [this.view, this.absent] = [null, true];
    this.update();
  }

  /** Repaint from the endpoint's view and the lease answer's `notify`, whichever is newer. */
  update(): void {
    const due = Date.now() - this.loadedAt > RELOAD_MS;
    if (due && !this.absent && this.node.isConnected) void this.load();
    const view = this.view;
    this.node.hidden = view === null;
    if (view === null) return;
    const status = latest(view.status, this.store.notify);
    const shown = view.shown; // the endpoint's: it also lists channels that never sent
    setText(
      this.channels,
      shown.length
        ? trans.__('Alerts go to %1', shown.join(', '))
        : trans.__('No alert channels: warnings reach you only in an open page.')
    );
    const error = status && !status.ok ? oneLine(status.error) : '';
    setText(this.failure, error ? `⚠ ${trans.__('Last alert failed: %1', error)}` : '');
    this.failure.hidden = !error;
    setText(this.problems, view.problems.map(p => `⚠ ${p}`).join('\n'));
    this.problems.hidden = view.problems.length === 0;
    this.save.disabled = this.busy;
  }

  /** The panel closed: what was typed and not saved goes too. */
  closed(): void {
    this.urls.value = '';
    this.editor.open = false;
    setText(this.said, '');
  }

  private editorNode(): HTMLElement {
    const summary = element('summary', '', trans.__('Alert channels'));
    this.urls.rows = 3;
    this.urls.spellcheck = false;
    this.urls.autocomplete = 'off';
    this.urls.placeholder = trans.__('Apprise URLs, one per line (e.g. wecombot://KEY)');
    this.urls.setAttribute('aria-label', trans.__('Alert channels'));
    const hint = element(
      'div',
      'jp-LeaseAlerts-hint',
      trans.__('Save replaces the channels of your user file (empty removes them); saved URLs are not shown again.')
    );
    this.save.addEventListener('click', () => void this.saveUrls());
    this.editor.append(summary, this.urls, hint, this.save, this.said);
    return this.editor;
  }

  private async saveUrls(): Promise<void> {
    if (this.busy) return;
    const urls = this.urls.value.split(/\r?\n/).map(u => u.trim()).filter(Boolean);
    this.busy = true;
    this.save.textContent = trans.__('Saving…');
    this.update();
    const outcome = await alertsCall(urls);
    this.busy = false;
    this.save.textContent = trans.__('Save');
    if (outcome.ok) {
      this.urls.value = ''; // a secret: out of the page once the server has it
      this.view = outcome.view;
      this.loadedAt = Date.now();
      setText(this.said, trans.__('Saved.'));
    } else {
      setText(this.said, `⚠ ${outcome.error}`); // the server's one line, never a URL
    }
    this.update();
  }
}
