// The one warner among the tabs of a server in one browser: the tab that holds the Web Lock
// `jupyter-lease:warner:<scope>`. Every tab asks for it for as long as it lives (a queue, so
// some tab always holds it, and a closed tab's lock passes to the next at once); a tab that is
// shown or focused takes it (`steal`), and a tab that hides gives it back and queues again. So
// the warner is the visible, focused tab where there is one, a hidden tab where none is.
//
// Only the warner fires a threshold's toast, its system notification and its sound; Tabs.claim
// still decides, per threshold, that a hand-over in mid-warning does not warn twice. Without
// Web Locks (an insecure origin) every tab is a candidate and the claims alone decide.

const PREFIX = 'jupyter-lease:warner:';

export class Election {
  private holding = false;
  private generation = 0;
  private letGo: () => void = () => undefined;
  private readonly locks: LockManager | null;
  private readonly onShow = (): void => {
    if (document.visibilityState === 'visible') this.take();
    else this.handOver();
  };
  private readonly onFocus = (): void => {
    if (document.visibilityState === 'visible') this.take();
  };

  constructor(private readonly name: string) {
    this.locks = (navigator as Navigator & { locks?: LockManager }).locks ?? null;
    document.addEventListener('visibilitychange', this.onShow);
    window.addEventListener('focus', this.onFocus);
    this.ask(document.visibilityState === 'visible');
  }

  /** The lock name for the tabs of `scope` (channel.js's scopeOf). */
  static lockName(scope: string): string {
    return `${PREFIX}${scope}`;
  }

  /** Whether this tab warns now. */
  get isWarner(): boolean {
    return this.locks === null || this.holding;
  }

  dispose(): void {
    document.removeEventListener('visibilitychange', this.onShow);
    window.removeEventListener('focus', this.onFocus);
    this.generation++;
    this.holding = false;
    this.letGo();
  }

  /** Shown or focused: take the lock from whichever tab holds it. */
  private take(): void {
    if (!this.holding) this.ask(true);
  }

  /** Hidden: let the tabs waiting (a shown one steals anyway) have it; queue behind them. */
  private handOver(): void {
    if (!this.holding) return;
    this.holding = false;
    this.letGo();
    this.ask(false);
  }

  /** Ask for the lock (the latest request is the one that counts); hold it until let go. */
  private ask(steal: boolean): void {
    const locks = this.locks;
    if (locks === null) return;
    const generation = ++this.generation;
    const held = new Promise<void>(resolve => (this.letGo = resolve));
    const granted = (lock: Lock | null): Promise<void> | undefined => {
      if (lock === null || generation !== this.generation) return undefined; // superseded
      this.holding = true;
      return held;
    };
    const lost = (): void => {
      if (generation !== this.generation) return;
      this.holding = false; // stolen by a tab shown or focused: queue again
      this.ask(false);
    };
    locks.request(this.name, steal ? { steal: true } : {}, granted).then(lost, lost);
  }
}
