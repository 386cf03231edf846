// jupyter_lease's front-end extension: the lease countdown where the eye already is — JupyterLab's
// status bar, Notebook 7's top bar (it has no status bar) — with its panel and its warnings.
// Everything it shows goes through present.js, the one presentation the cell widget and the
// terminal use too. Its store is the page's one (page.ts): the cell widgets show it.

import {
  JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator } from '@jupyterlab/translation';

import { pushedAnswer, serverConnection } from './api';
import { Election } from './elect';
import { lang, trans, useTranslator } from './i18n';
import { LeaseItem } from './item';
import { RenewalNotifier } from './keepalive';
import { LeasePanel } from './panel';
import { settingsFrom, type LeaseSettings } from './settings';
import { pageLease, publishPage, Ticks } from './page';
import { honestStop } from './stop';
import { LeaseStore } from './store';
import { Tabs } from './tabs';
import { Warner } from './warnings';
import { scopeOf } from '../jupyter_lease/static/channel.js';
import { derive, type Presentation } from '../jupyter_lease/static/present.js';

const PLUGIN_ID = 'jupyter-lease:plugin';
const REFRESH_COMMAND = 'jupyter-lease:refresh';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The lease countdown in the status bar (Notebook 7: the top bar), with warnings.',
  autoStart: true,
  optional: [IStatusBar, ISettingRegistry, ITranslator],
  activate
};

function activate(
  app: JupyterFrontEnd,
  statusBar: IStatusBar | null,
  registry: ISettingRegistry | null,
  translator: ITranslator | null
): void {
  useTranslator(translator);
  const user = { composite: {} as Record<string, unknown> };
  // One server = its absolute base URL, as the cell widgets compute it (channel.js).
  const scope = scopeOf(location.href, PageConfig.getOption('baseUrl') || '/') ?? location.origin;
  const tabs = new Tabs(scope, answer => store.accept(answer, false), () => store.hostOffsetMs);
  const store = new LeaseStore(answer => tabs.share(answer), serverConnection);
  const settings = userOverServer(user, store);
  const present = (): Presentation =>
    honestStop(
      derive(store.reading, Date.now(), {
        warnAt: settings().warnAt,
        hostOffsetMs: store.hostOffsetMs,
        lang
      }),
      store.reading,
      store.state === 'failing'
    );
  const warner = new Warner(store, tabs, new Election(Election.lockName(scope)), settings, present);
  let panel: LeasePanel | null = null;
  // The cell widgets of this page are views of this store, repainted at the item's ticks.
  const ticks = new Ticks();
  publishPage(pageLease(store, 'lab', ticks));
  new RenewalNotifier(store, tabs, view => panel?.showKeepAlive(view));
  const item = new LeaseItem(
    store,
    present,
    () => settings().warnAt,
    p => {
      warner.check(p, store.reading);
      panel?.update();
      ticks.tick();
    },
    () => {
      panel ??= new LeasePanel(store, present, settings, item.node);
      panel.toggle();
    }
  );
  place(app, statusBar, item);
  app.commands.addCommand(REFRESH_COMMAND, {
    label: trans.__('Check the lease now'),
    execute: () => store.refresh()
  });
  store.start();
  subscribe(app, store);
  watchUserSettings(registry, user, () => item.tick());
}

/** New readings as the server pushes them (jupyter_server 2's event bus; absent before). */
function subscribe(app: JupyterFrontEnd, store: LeaseStore): void {
  const events = (app.serviceManager as { events?: JupyterFrontEnd['serviceManager']['events'] })
    .events;
  events?.stream.connect((_, event) => {
    const answer = pushedAnswer(event);
    if (answer !== null) store.pushed(answer);
  });
}

/** The user's settings over the server's (which arrive with the lease), recomputed on change. */
function userOverServer(
  user: { composite: Record<string, unknown> },
  store: LeaseStore
): () => LeaseSettings {
  let memo: { from: unknown[]; value: LeaseSettings } | null = null;
  return () => {
    const from = [user.composite, store.serverSettings];
    if (!memo || memo.from.some((v, i) => v !== from[i])) {
      memo = { from, value: settingsFrom(user.composite, store.serverSettings) };
    }
    return memo.value;
  };
}

/** Keep `user.composite` equal to the settings registry's value; `changed()` after each. */
function watchUserSettings(
  registry: ISettingRegistry | null,
  user: { composite: Record<string, unknown> },
  changed: () => void
): void {
  if (!registry) {
    return;
  }
  void registry
    .load(PLUGIN_ID)
    .then(loaded => {
      const read = (): void => {
        user.composite = loaded.composite as Record<string, unknown>;
        changed();
      };
      loaded.changed.connect(read);
      read();
    })
    .catch(() => {
      /* no schema (a broken install): the defaults */
    });
}

/** JupyterLab: the status bar, left; Notebook 7 (no status bar): the top bar, right. */
function place(app: JupyterFrontEnd, statusBar: IStatusBar | null, item: LeaseItem): void {
  if (statusBar) {
    statusBar.registerStatusItem(PLUGIN_ID, { item, align: 'left', rank: 1000 });
    return;
  }
  item.addClass('jp-LeaseItem-top');
  app.shell.add(item, 'top', { rank: 1000 });
}

export default plugin;
