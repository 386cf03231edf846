// The stop, told honestly. A `stopped` reading, or a page that lost its server at or after the
// deadline (on a real instance the Jupyter server stops with the machine), is shown in every
// view as what it is: the instance has stopped on its timer, when, and what to do next — never
// a "0:00 left" with an Extend that can only fail. Pure: tests/frontend runs it under Node.

import { lang, trans } from './i18n.js'; // .js: tests/frontend run this module under Node
import type { Presentation, ReadingJSON } from '../jupyter_lease/static/present.js';
import { wordsFor } from '../jupyter_lease/static/words.js';

const stoppedHeadline = (): string => trans.__('the instance has stopped on its timer');
/** What to do next, in the page's language. */
export const nextSteps = (): string =>
  trans.__(
    'Restart it from the console. Unsaved changes in open notebooks are at risk: download them (File → Download) while this page still holds them.'
  );

/** A stop's presentation also says when it stopped, where the page knows. */
export interface Stopped extends Presentation {
  stoppedAt?: string | null;
}

/**
 * What the views show: `p`, or the stop in plain words where the reading says stopped or the
 * server stopped answering at or after the deadline (`failing`: the store's state).
 */
export function honestStop(
  p: Presentation,
  reading: Partial<ReadingJSON>,
  failing: boolean
): Stopped {
  const lost = failing && reading.kind === 'timed' && p.remainingMs === 0;
  if (p.stage !== 'stopped' && !lost) return p;
  const at = lost ? ranOutAt(p.detail) : '';
  const headline = lost ? stoppedHeadline() : p.headline;
  const detail = at ? trans.__('Stopped at %1. %2', at, nextSteps()) : nextSteps();
  const stopped: Stopped = { ...p, stage: 'stopped', headline, detail, warning: null };
  return { ...stopped, stale: false, threshold: null, stoppedAt: at || null };
}

/** The stop in one toast line (JupyterLab cuts a notification at 140 characters). */
export function stopLine(p: Presentation): string {
  const at = (p as Stopped).stoppedAt ?? null;
  const headline = p.headline.charAt(0).toUpperCase() + p.headline.slice(1);
  const steps = trans.__('Restart it from the console; download unsaved notebooks now.');
  return at ? trans.__('%1 at %2. %3', headline, at, steps) : trans.__('%1. %2', headline, steps);
}

/** The time in present.js's "ran out at {when}" (its words for the page's language), or "". */
export function ranOutAt(detail: string): string {
  const [before, after] = wordsFor(lang).ran_out_at.split('{when}');
  const first = detail.split(' · ')[0];
  if (!first.startsWith(before)) return '';
  const rest = first.slice(before.length);
  const end = after ? rest.indexOf(after) : -1;
  return (end >= 0 ? rest.slice(0, end) : rest).split(' — ')[0];
}

/** Whether Extend may be offered: a timed lease the source can extend, not run out. */
export function canOffer(p: Presentation, reading: Partial<ReadingJSON>): boolean {
  const live = ['plenty', 'warning', 'critical'].includes(p.stage);
  return live && reading.can_extend === true && p.remainingMs !== 0;
}
