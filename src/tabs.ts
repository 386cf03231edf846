// The tabs of one Jupyter server, in one browser: they share the server's answers (an Extend in
// one tab shows in every tab at once) and decide together which one tab warns.
//
// Messages go over the channel of jupyter_lease/static/channel.js, which the cell widgets of
// every tab share (its header documents the message). A warning is claimed in
// localStorage: under a Web Lock (atomic across tabs) where the page has `navigator.locks`
// (secure contexts: https, localhost), else by write-then-read-back after a short wait.

import type { Answer } from './api';
import { claimsKey, openChannel } from '../jupyter_lease/static/channel.js';

const CLAIM_SETTLE_MS = 250; // without Web Locks: time for a rival tab's write to land
const CLAIM_KEEP_MS = 4 * 24 * 3600 * 1000; // past the longest lease (72 h)
const CLAIM_LIMIT = 200;

type Claims = Record<string, { tab: string; at: number }>;

export class Tabs {
  readonly id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  private readonly channel: ReturnType<typeof openChannel>;
  private readonly claimKey: string;
  private readonly won = new Set<string>(); // the keys this tab claimed (their locks held)
  private release: () => void = () => undefined;
  private readonly released = new Promise<void>(resolve => (this.release = resolve));

  /**
   * `scope`: the server (channel.js's scopeOf); `onAnswer`: an answer another view got, once
   * checked against this page's clock and `hostOffsetMs()` (the offset to the host it knows).
   */
  constructor(
    scope: string,
    onAnswer: (answer: Answer) => void,
    hostOffsetMs: () => number | null = () => null
  ) {
    this.claimKey = claimsKey(scope);
    this.channel = openChannel(scope, this.id, answer => onAnswer(answer as Answer), hostOffsetMs);
  }

  /** Tell the other tabs and this page's cell widgets what the server answered. */
  share(answer: Answer): void {
    this.channel.post(answer);
  }

  /**
   * Whether this tab owns `key` (one warning of one deadline): true for exactly one tab of the
   * server, the first to ask. Without storage every tab owns it (better twice than never).
   */
  async claim(key: string): Promise<boolean> {
    if (this.won.has(key)) return true;
    const locks = (navigator as Navigator & { locks?: LockManager }).locks;
    try {
      if (locks) return await this.claimByLock(locks, key);
      if (!this.claimNow(key)) return false;
      const wait = CLAIM_SETTLE_MS + Math.random() * CLAIM_SETTLE_MS;
      await new Promise(resolve => setTimeout(resolve, wait));
      return this.readClaims()[key]?.tab === this.id;
    } catch {
      return true;
    }
  }

  /**
   * The first tab to ask wins a lock named after `key` and holds it for the rest of its life:
   * every later request, from any tab, finds it taken, however late a rival's copy of
   * localStorage is (seen under load: two toasts when the claim relied on it). The claim is
   * also written to localStorage, so that a tab opened or reloaded later knows.
   */
  private claimByLock(locks: LockManager, key: string): Promise<boolean> {
    if (this.readClaims()[key]) return Promise.resolve(false);
    return new Promise<boolean>(decided => {
      void locks
        .request(`${this.claimKey}|${key}`, { ifAvailable: true }, lock => {
          if (lock === null) {
            decided(false);
            return;
          }
          this.won.add(key);
          this.claimNow(key);
          decided(true);
          return this.released; // held until this tab goes away
        })
        .catch(() => decided(true)); // no lock to be had: better twice than never
    });
  }

  dispose(): void {
    this.release();
    this.channel.close();
  }

  private claimNow(key: string): boolean {
    const claims = this.readClaims();
    if (claims[key]) return claims[key].tab === this.id;
    const now = Date.now();
    const kept = Object.entries(claims)
      .filter(([, c]) => now - c.at < CLAIM_KEEP_MS)
      .slice(-CLAIM_LIMIT);
    const next: Claims = Object.fromEntries(kept);
    next[key] = { tab: this.id, at: now };
    localStorage.setItem(this.claimKey, JSON.stringify(next));
    return true;
  }

  private readClaims(): Claims {
    try {
      const parsed: unknown = JSON.parse(localStorage.getItem(this.claimKey) || '{}');
      return parsed && typeof parsed === 'object' ? (parsed as Claims) : {};
    } catch {
      return {};
    }
  }
}
