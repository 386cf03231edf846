// The settings the item works with: the user's (schema/plugin.json, JupyterLab's settings
// registry) where set, else the server's `c.JupyterLease` (served with every lease), else the
// built-in defaults (present.js). The schema's defaults (an empty list, null) mean "the server's".

import type { ServerSettings } from './api';
import { parseDuration, thresholdsFrom } from '../jupyter_lease/static/present.js';

export interface LeaseSettings {
  /** Warning thresholds in seconds, largest first. */
  warnAt: number[];
  /** Toasts (and the tab title) at each threshold. */
  notifications: boolean;
  /** Also a system notification, where the user allowed them for this page. */
  browserNotifications: boolean;
  /** What Extend offers; null: what the lease's source offers. */
  extendChoices: string[] | null;
  /** What Extend offers first (the panel, the toast, the cell widget: one setting). */
  extendDefault: string;
  /** A short beep with each warning. */
  sound: boolean;
}

/** c.JupyterLease.extend_default's default (jupyter_lease/_defaults.py). */
export const EXTEND_DEFAULT = '1h';

/**
 * The settings from the registry's composite value over the server's: a user's value wins
 * where it is set (a non-empty list, a boolean), the server's counts where it is not.
 */
export function settingsFrom(
  composite: Record<string, unknown>,
  server: ServerSettings | null
): LeaseSettings {
  const listed = Array.isArray(composite.warnAt) ? composite.warnAt.map(parseDuration) : [];
  const served = server ? server.warnAtMs.map(ms => ms / 1000) : [];
  const flag = (name: 'notifications' | 'browserNotifications', fallback: boolean): boolean =>
    typeof composite[name] === 'boolean' ? (composite[name] as boolean) : fallback;
  return {
    warnAt: thresholdsFrom(listed.length ? listed : served),
    notifications: flag('notifications', true),
    // The server's `notifications` is the cell widget's too: system notifications.
    browserNotifications: flag('browserNotifications', server?.notifications ?? true),
    extendChoices: server && server.extendChoices.length ? server.extendChoices : null,
    extendDefault:
      parseDuration(composite.extendDefault) !== null
        ? String(composite.extendDefault).trim()
        : server?.extendDefault ?? EXTEND_DEFAULT,
    sound: composite.sound === true
  };
}

/** The durations Extend offers: the server's where set, within what the source accepts. */
export function choicesFor(
  configured: string[] | null,
  offered: string[],
  rangeMs: [number, number] | null | undefined
): string[] {
  if (configured === null) return offered;
  if (!rangeMs) return configured;
  const [low, high] = rangeMs;
  return configured.filter(choice => {
    const s = parseDuration(choice);
    return s !== null && s * 1000 >= low && s * 1000 <= high;
  });
}
