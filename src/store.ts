// The page's one lease: the last reading the server extension gave (or another tab shared), the
// clock offset measured with it, and whether the server extension is answering. Polls once per
// POLL_MS (an answer shared by another tab counts), once more when the tab shows again, and the
// views tick from the absolute deadline in between: no per-second traffic.

import { ISignal, Signal } from '@lumino/signaling';

import type { Answer, KeepAliveSummary, NotifyStatus, Outcome, ServerSettings } from './api';
import type { Transport } from './outcome';
import { newer, type ReadingJSON } from '../jupyter_lease/static/present.js';

const POLL_MS = 2 * 60 * 1000; // ≤ 30 requests per tab per hour
// While the server pushes every new reading, a read is only a safety net (≤ 2 per tab-hour).
const PUSHED_POLL_MS = 30 * 60 * 1000;
const RETRY_MS = 30 * 1000; // after a failed read
const VISIBLE_MIN_MS = 60 * 1000; // a tab shown again re-reads unless this fresh

export type ServerState = 'loading' | 'ok' | 'failing' | 'absent';

export class LeaseStore {
  private answer: Answer | null = null;
  private hostOffset = 0;
  private failure: string | null = null;
  private serverState: ServerState = 'loading';
  private pushing = false;
  private lastAttempt = -Infinity;
  private inflight: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly changedSignal = new Signal<this, void>(this);
  private readonly onVisible = (): void => {
    if (document.visibilityState === 'visible' && this.age() >= VISIBLE_MIN_MS) {
      void this.refresh();
    }
  };

  /**
   * `share`: hands every answer this tab got from the server to the other tabs; `transport`:
   * the calls (the lab extension's ServerConnection, or the cell widget's fetch where no lab
   * extension runs: widget/fetch.ts). No JupyterLab import here: the widget bundles this file.
   */
  constructor(
    private readonly share: (answer: Answer) => void,
    private readonly transport: Transport
  ) {
    document.addEventListener('visibilitychange', this.onVisible);
  }

  get changed(): ISignal<this, void> {
    return this.changedSignal;
  }

  get state(): ServerState {
    return this.serverState;
  }

  /** The last failure in one line (a read or an Extend), or null. */
  get lastError(): string | null {
    return this.failure;
  }

  /** The serving host's clock minus the browser's, for derive(). */
  get hostOffsetMs(): number {
    return this.hostOffset;
  }

  /** The server's `c.JupyterLease` as last served, or null. */
  get serverSettings(): ServerSettings | null {
    return this.answer?.settings ?? null;
  }

  /** Keep alive while busy, as the last answer said (null: no such policy on the server). */
  get keepAlive(): KeepAliveSummary | null {
    return this.answer?.keepAlive ?? null;
  }

  /** The server-side alerts' last outcome, as the last answer said (null: no channels). */
  get notify(): NotifyStatus | null {
    return this.answer?.notify ?? null;
  }

  /** The reading to show: stale while the server extension fails to answer. */
  get reading(): Partial<ReadingJSON> {
    const reading = this.answer?.reading;
    if (this.serverState !== 'failing') {
      return reading ?? { v: 1, kind: 'unknown', stale: false, error: this.failure };
    }
    const base = reading ?? { v: 1, kind: 'unknown' };
    return { ...base, stale: true, error: this.failure };
  }

  /** Milliseconds since the last read was started (Infinity before the first). */
  age(): number {
    return Date.now() - this.lastAttempt;
  }

  start(): void {
    void this.refresh();
  }

  /** Read now (joins a read in flight), then poll again in POLL_MS. */
  refresh(): Promise<void> {
    this.inflight ??= this.read().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** Extend through the server extension; resolves to the error line, or null when done. */
  async extend(duration: string): Promise<string | null> {
    // The deadline shown (on the source's clock): a second tab's click or a retry for the
    // same end changes nothing on the server (Slurm's TimeLimit=+N would add up).
    const shown = this.answer?.reading?.deadline_ms;
    const outcome = await this.transport.postExtend(duration, shown ?? null);
    if (outcome.ok) {
      this.failure = null;
      this.accept(outcome.answer, true);
      return null;
    }
    this.failure = `extend: ${outcome.error}`;
    this.changedSignal.emit();
    return this.failure;
  }

  /** A view the server pushed (server/push.py): as good as a read; shared with the cell
   * widgets and the other tabs, which may listen to no event stream of their own. */
  pushed(answer: Answer): void {
    this.failure = null;
    this.accept(answer, true);
  }

  /** An answer from this tab's call (`own`: share it) or from another tab. The server's own
   * answer always wins; a peer's only where it was read later (channel.js checked it). */
  accept(answer: Answer, own: boolean): void {
    const reading = own
      ? answer.reading
      : newer(this.answer?.reading, answer.reading) ?? answer.reading;
    const changed =
      reading !== this.answer?.reading ||
      this.serverState !== 'ok' ||
      JSON.stringify(answer.keepAlive) !== JSON.stringify(this.answer?.keepAlive) ||
      JSON.stringify(answer.notify) !== JSON.stringify(this.answer?.notify);
    const settings = answer.settings ?? this.answer?.settings ?? null;
    const { keepAlive, notify } = answer;
    this.answer = { reading, hostOffsetMs: answer.hostOffsetMs, settings, keepAlive, notify };
    if (answer.hostOffsetMs !== null) this.hostOffset = answer.hostOffsetMs;
    this.serverState = 'ok';
    this.lastAttempt = Date.now(); // a shared answer is as good as our own read
    this.schedule(this.pushing ? PUSHED_POLL_MS : POLL_MS);
    if (own) this.share(answer);
    if (changed) this.changedSignal.emit();
  }

  dispose(): void {
    document.removeEventListener('visibilitychange', this.onVisible);
    if (this.timer !== null) clearTimeout(this.timer);
    Signal.clearData(this);
  }

  private async read(): Promise<void> {
    this.lastAttempt = Date.now();
    const outcome = await this.transport.getLease();
    if (outcome.ok) {
      this.failure = null;
      this.pushing = outcome.answer.push === true;
      this.accept(outcome.answer, true);
      return;
    }
    this.fail(outcome);
  }

  private fail(outcome: Extract<Outcome, { ok: false }>): void {
    this.failure = outcome.error;
    if (outcome.kind === 'absent') {
      this.serverState = 'absent'; // no server extension: nothing to poll
    } else if (outcome.kind === 'refused') {
      // Not configured here (503) or refused: an honest "unknown", not a stale countdown.
      this.answer = null;
      this.serverState = 'ok';
      this.schedule(POLL_MS);
    } else {
      this.serverState = 'failing';
      this.schedule(RETRY_MS);
    }
    this.changedSignal.emit();
  }

  private schedule(delay: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, delay);
  }
}
