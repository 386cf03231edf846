// The cell widget's one ES module (anywidget's `_esm`), bundled by esbuild into
// jupyter_lease/static/widget.js from the lab extension's own TypeScript (package.json,
// build:widget). Each view shows the page's one lease: the lab extension's store where it runs
// (page.ts), else the one the first widget of the page makes (alone.ts).

import { findPage, type PageLease } from '../page';
import { standalonePage } from './alone';
import { CountdownView, type Model } from './view';

const OPEN_READ_MIN_AGE_MS = 2000;

function pageFor(model: Model): PageLease {
  return (
    findPage() ??
    standalonePage(() => ({
      warnAtS: model.get('warn_at_s') || [],
      notifications: Boolean(model.get('notifications'))
    }))
  );
}

function render({ model, el }: { model: Model; el: HTMLElement }): () => void {
  const page = pageFor(model);
  const view = new CountdownView(model, el, page);
  const handlers: [string, () => void][] = [
    ['change:reading', view.tick],
    ['change:warn_at_s', view.tick],
    ['change:notifications', view.tick],
    ['change:kernel_now_ms', () => view.onKernelNow()],
    ['change:extend_choices', () => view.onChoices()],
    ['change:extend_default', () => view.onChoices()],
    ['change:busy', () => view.onBusy()],
    ['change:message', () => view.onMessage()],
    ['change:catalogue', () => view.onLanguage()]
  ];
  for (const [name, fn] of handlers) model.on(name, fn);
  const unsubscribe = page.subscribe(view.tick);
  view.tick();
  // The true lease on a view's first show (after a reload, a lease changed behind everyone's
  // back): one read for a burst of views, as a page's does when it opens.
  page.refresh(OPEN_READ_MIN_AGE_MS);
  return () => {
    view.dispose();
    unsubscribe();
    for (const [name, fn] of handlers) model.off(name, fn);
  };
}

export default { render };
