// The page's one lease, as the cell widgets find it. The lab extension publishes its store here
// (index.ts); a widget rendered in that page is a view of it: no read, clock, timer or warning of
// its own. Where no lab extension runs (JupyterLab 3.6, VS Code, a classic page) the first widget
// of the page makes the same from the same modules (widget/alone.ts) and publishes it for the
// others. The widget's module is bundled apart from the lab extension (anywidget loads it as one
// ES module), so they meet on a global name and an interface of plain functions, not a class.

import type { KeepAliveSummary } from './api';
import type { LeaseStore, ServerState } from './store';
import type { ReadingJSON } from '../jupyter_lease/static/present.js';

/** A global property name: one page lease per page, whichever bundle made it. */
export const PAGE_KEY = '__jupyterLeasePage_v1';

export interface PageLease {
  /** Who made it: the lab extension, or a cell widget where none runs. */
  readonly owner: 'lab' | 'widget';
  /** The reading the page's views show (the store's). */
  reading(): Partial<ReadingJSON>;
  /** The serving host's clock minus the browser's (ms), for derive(). */
  hostOffsetMs(): number;
  /** Whether the server extension answers: "absent" and "failing" send Extend to the kernel. */
  serverState(): ServerState;
  keepAlive(): KeepAliveSummary | null;
  /** Extend through the server extension; resolves to the error line, or null when done. */
  extend(duration: string): Promise<string | null>;
  /** Read now unless read within `minAgeMs` (a view opened: one read for a burst of them). */
  refresh(minAgeMs: number): void;
  /**
   * `fn` at every repaint of the page's one timer (the status item's, or the widget page's):
   * whenever the store changes, the tab shows again, or what a view shows can next change.
   * Returns the function that stops it.
   */
  subscribe(fn: () => void): () => void;
}

/** The subscribers of a page's ticks; `tick()` calls each (one failing never stops the rest). */
export class Ticks {
  private readonly fns = new Set<() => void>();

  add(fn: () => void): () => void {
    this.fns.add(fn);
    return () => void this.fns.delete(fn);
  }

  tick(): void {
    for (const fn of [...this.fns]) {
      try {
        fn();
      } catch (err) {
        console.error('jupyter_lease:', err);
      }
    }
  }
}

/** The store as a page lease. */
export function pageLease(store: LeaseStore, owner: PageLease['owner'], ticks: Ticks): PageLease {
  return {
    owner,
    reading: () => store.reading,
    hostOffsetMs: () => store.hostOffsetMs,
    serverState: () => store.state,
    keepAlive: () => store.keepAlive,
    extend: duration => store.extend(duration),
    refresh: minAgeMs => {
      if (store.state !== 'absent' && store.age() >= minAgeMs) void store.refresh();
    },
    subscribe: fn => ticks.add(fn)
  };
}

type Holder = Record<string, PageLease | undefined>;

const PAGE_FUNCTIONS: (keyof PageLease)[] = [
  'reading',
  'hostOffsetMs',
  'serverState',
  'keepAlive',
  'extend',
  'refresh',
  'subscribe'
];

export function publishPage(page: PageLease): void {
  (globalThis as unknown as Holder)[PAGE_KEY] = page;
}

/** The page lease published on this page, or null (none yet, or not one of this shape). */
export function findPage(): PageLease | null {
  const page = (globalThis as unknown as Holder)[PAGE_KEY];
  const fn = (name: string): boolean => typeof (page as any)[name] === 'function';
  return page && typeof page === 'object' && PAGE_FUNCTIONS.every(fn) ? page : null;
}
