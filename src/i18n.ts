// The extension's words in the page's language: JupyterLab's translation system (ITranslator),
// domain `jupyter_lease` (jupyter_lease/locale/<lang>/LC_MESSAGES/jupyter_lease.json, found by
// jupyterlab_server through the `jupyterlab.locale` entry point). The plugin calls
// useTranslator() once on activation; until then, and without a translator (Notebook 7 without
// the token, JupyterLab 3), the words are English. Only types are imported from
// @jupyterlab/translation: the pure modules that mark strings still run under Node (tests/frontend).

import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';

export const DOMAIN = 'jupyter_lease';

/** What the views call: `trans.__('Lease: %1', headline)`, as JupyterLab's own extensions do. */
export type Bundle = Pick<TranslationBundle, '__'>;

/** `%1`, `%2`… replaced by the arguments, as JupyterLab's bundle does for an untranslated id. */
function fill(msgid: string, args: unknown[]): string {
  return msgid.replace(/%(\d+)/g, (whole, n: string) =>
    Number(n) >= 1 && Number(n) <= args.length ? String(args[Number(n) - 1]) : whole
  );
}

const english: Bundle = { __: (msgid: string, ...args: unknown[]) => fill(msgid, args) };

/** The bundle in use (a live binding: importers see the translator's once it is set). */
export let trans: Bundle = english;
/** The page's language for present.js ("en", "zh-CN"…; words.js maps it onto its tables). */
export let lang = 'en';

/** Take the page's translator: its `jupyter_lease` bundle and its language. */
export function useTranslator(translator: ITranslator | null): void {
  if (!translator) return;
  trans = translator.load(DOMAIN);
  // JupyterLab 4 has languageCode (and sets <html lang> from it); 3.6 has neither.
  lang = (translator as Partial<ITranslator>).languageCode || document.documentElement.lang || 'en';
}

/** The cell widget's words where no JupyterLab translator runs for it (its bundle has its own
 * copy of this module): the kernel's language and its catalogue (msgid → [msgstr], the
 * `.json` JupyterLab would load), synced by the kernel; English where a msgid has none. */
export function useCatalogue(language: string, catalogue: unknown): void {
  const table = catalogue && typeof catalogue === 'object' ? (catalogue as Record<string, unknown>) : {};
  const translated = (msgid: string): string => {
    const entry = Object.prototype.hasOwnProperty.call(table, msgid) ? table[msgid] : null;
    return Array.isArray(entry) && typeof entry[0] === 'string' && entry[0] ? entry[0] : msgid;
  };
  trans = { __: (msgid: string, ...args: unknown[]) => fill(translated(msgid), args) };
  lang = language || 'en';
}
