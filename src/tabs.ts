// The tabs of one Jupyter server, in one browser: they share the server's answers (an Extend in
// one tab shows in every tab at once) and decide together which one tab warns.
//
// Messages go over a BroadcastChannel; where there is none, over `storage` events (a key written
// in localStorage fires the event in every other tab of the origin). A warning is claimed in
// localStorage: under a Web Lock (atomic across tabs) where the page has `navigator.locks`
// (secure contexts: https, localhost), else by write-then-read-back after a short wait.

import type { Answer } from './api';

const PREFIX = 'jupyter-lease';
const CLAIM_SETTLE_MS = 250; // without Web Locks: time for a rival tab's write to land
const CLAIM_KEEP_MS = 4 * 24 * 3600 * 1000; // past the longest lease (72 h)
const CLAIM_LIMIT = 200;

type Message = { type: 'answer'; answer: Answer; from: string };
type Claims = Record<string, { tab: string; at: number }>;

export class Tabs {
  readonly id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  private channel: BroadcastChannel | null = null;
  private readonly messageKey: string;
  private readonly claimKey: string;
  private readonly onStorage = (event: StorageEvent): void => {
    if (event.key === this.messageKey && event.newValue) this.receive(event.newValue);
  };

  /** `scope`: the server (origin + base URL); `onAnswer`: an answer another tab got. */
  constructor(
    scope: string,
    private readonly onAnswer: (answer: Answer) => void
  ) {
    this.messageKey = `${PREFIX}:message:${scope}`;
    this.claimKey = `${PREFIX}:claims:${scope}`;
    try {
      this.channel = new BroadcastChannel(`${PREFIX}:${scope}`);
      this.channel.onmessage = event => this.receive(event.data);
    } catch {
      window.addEventListener('storage', this.onStorage); // older browsers
    }
  }

  /** Tell the other tabs what the server answered. */
  share(answer: Answer): void {
    const message: Message = { type: 'answer', answer, from: this.id };
    if (this.channel) {
      this.channel.postMessage(JSON.stringify(message));
      return;
    }
    try {
      localStorage.setItem(this.messageKey, JSON.stringify(message));
    } catch {
      /* storage full or disabled: the other tabs see it at their next poll */
    }
  }

  /**
   * Whether this tab owns `key` (one warning of one deadline): true for exactly one tab of the
   * server, the first to ask. Without storage every tab owns it (better twice than never).
   */
  async claim(key: string): Promise<boolean> {
    const locks = (navigator as Navigator & { locks?: LockManager }).locks;
    try {
      if (locks) {
        return await locks.request(this.claimKey, async () => {
          const won = this.claimNow(key);
          // A write reaches the other tabs' copies of localStorage a moment later (they may
          // run in other processes): hold the lock until it has, or a tab asking at the same
          // instant reads no claim and warns too (seen: two toasts for one renewal).
          if (won) await new Promise(resolve => setTimeout(resolve, CLAIM_SETTLE_MS));
          return won;
        });
      }
      if (!this.claimNow(key)) return false;
      const wait = CLAIM_SETTLE_MS + Math.random() * CLAIM_SETTLE_MS;
      await new Promise(resolve => setTimeout(resolve, wait));
      return this.readClaims()[key]?.tab === this.id;
    } catch {
      return true;
    }
  }

  dispose(): void {
    this.channel?.close();
    window.removeEventListener('storage', this.onStorage);
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

  private receive(raw: unknown): void {
    let message: Message;
    try {
      message = JSON.parse(String(raw));
    } catch {
      return;
    }
    if (message?.type !== 'answer' || message.from === this.id || !message.answer) return;
    this.onAnswer(message.answer);
  }
}
