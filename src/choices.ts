// What an Extend may offer: RenewLease counts from now, so a choice no longer than the time left
// would take time away (the server refuses it with 409); and which choice comes first (one
// setting, c.JupyterLease.extend_default, for the panel, the toast and the cell widget). Pure:
// tests/frontend runs it under Node.

import { parseDuration as seconds } from '../jupyter_lease/static/present.js';
import { wordsFor } from '../jupyter_lease/static/words.js';

/** The choices that lengthen the lease when `remainingMs` is left (null: unknown, all). */
export function lengthening(choices: readonly string[], remainingMs: number | null): string[] {
  if (remainingMs === null) return [...choices];
  return choices.filter(choice => {
    const s = seconds(choice);
    return s !== null && s * 1000 > remainingMs;
  });
}

/** The choice offered first: `preferred` where offered, else the shortest that is. */
export function firstChoice(choices: readonly string[], preferred: string): string | null {
  if (choices.length === 0) return null;
  const wanted = seconds(preferred);
  const same = choices.find(c => c.trim() === preferred.trim() || seconds(c) === wanted);
  if (same !== undefined) return same;
  const sorted = [...choices].sort((a, b) => (seconds(a) ?? 0) - (seconds(b) ?? 0));
  return sorted.find(c => wanted === null || (seconds(c) ?? 0) >= wanted) ?? sorted[0];
}

/** The unit words of present.js's duration formats ("{h} h {m} min"), for `lang`. */
function unitWords(lang: string): Record<string, string> {
  const words = wordsFor(lang);
  const between = (format: string, a: string, b: string): string =>
    format.slice(format.indexOf(a) + a.length, b ? format.indexOf(b) : undefined).trim();
  const minute = between(words.minutes, '{m}', '');
  const hour = between(words.hours, '{h}', '{m}');
  const day = between(words.days, '{d}', '{h}');
  return { s: 's', m: minute, min: minute, h: hour, d: day };
}

/** "1h" → "1 h" ("1 小时"), "90m" → "90 min", "1h30m" → "1 h 30 min": the button's words. */
export function choiceLabel(choice: string, lang = 'en'): string {
  const units = unitWords(lang);
  return choice
    .replace(/(\d+(?:\.\d+)?)\s*(min|s|m|h|d)/g, (_, n: string, u: string) => ` ${n} ${units[u]}`)
    .trim();
}
