// The page's lease where no lab extension runs (JupyterLab 3.6, VS Code, a classic page): made by
// the first cell widget of the page from the lab extension's own modules — the store (polling
// over fetch, widget/fetch.ts), the tabs' channel and claims, the Warner — and one timer that
// repaints as the status item's does. Published (page.ts) for the page's other widgets.

import type { PageLease } from '../page';
import { pageLease, publishPage, Ticks } from '../page';
import { Election } from '../elect';
import { IDLE_TICK_MS, nextChangeMs } from '../item-text';
import { settingsFrom, type LeaseSettings } from '../settings';
import { honestStop } from '../stop';
import { LeaseStore } from '../store';
import { Tabs } from '../tabs';
import { Warner } from '../warnings';
import { lang } from '../i18n';
import { fetchTransport, pageBaseUrl } from './fetch';
import { scopeOf } from '../../jupyter_lease/static/channel.js';
import { derive, type Presentation } from '../../jupyter_lease/static/present.js';

/** What the kernel asked for (its `c.JupyterLease`), as the user's settings over the server's. */
export interface KernelSettings {
  warnAtS: number[];
  notifications: boolean;
}

/** The widget's own page lease: made once, then found by every widget of the page. */
export function standalonePage(kernel: () => KernelSettings): PageLease {
  const base = pageBaseUrl();
  const scope = base === null ? null : scopeOf(location.href, base);
  const tabs =
    scope === null
      ? null
      : new Tabs(scope, answer => store.accept(answer, false), () => store.hostOffsetMs);
  const store = new LeaseStore(answer => tabs?.share(answer), fetchTransport);
  const settings = (): LeaseSettings => {
    const own = kernel();
    const composite = {
      warnAt: own.warnAtS.map(s => `${s}s`),
      notifications: own.notifications,
      browserNotifications: own.notifications
    };
    return settingsFrom(composite, store.serverSettings);
  };
  const present = (): Presentation => {
    const options = { warnAt: settings().warnAt, hostOffsetMs: store.hostOffsetMs, lang };
    const p = derive(store.reading, Date.now(), options);
    return honestStop(p, store.reading, store.state === 'failing');
  };
  const noTabs = { claim: () => Promise.resolve(true), share: () => undefined };
  const election = new Election(Election.lockName(scope ?? location.href));
  const warner = new Warner(store, (tabs ?? noTabs) as Tabs, election, settings, present);
  const ticks = new Ticks();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const tick = (): void => {
    const p = present();
    warner.check(p, store.reading);
    ticks.tick();
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(tick, Math.min(IDLE_TICK_MS, nextChangeMs(p, settings().warnAt)));
  };
  store.changed.connect(tick);
  document.addEventListener('visibilitychange', tick);
  const page = pageLease(store, 'widget', ticks);
  publishPage(page);
  store.start();
  tick();
  return page;
}
