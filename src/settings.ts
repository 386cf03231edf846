// The user's settings (schema/plugin.json), read from JupyterLab's settings registry.

import { DEFAULT_WARN_AT_S, thresholdsFrom } from '../jupyter_lease/static/present.js';

export interface LeaseSettings {
  /** Warning thresholds in seconds, largest first. */
  warnAt: number[];
  /** Toasts (and the tab title) at each threshold. */
  notifications: boolean;
  /** Also a system notification, where the user allowed them for this page. */
  browserNotifications: boolean;
}

export const DEFAULT_SETTINGS: LeaseSettings = {
  warnAt: [...DEFAULT_WARN_AT_S],
  notifications: true,
  browserNotifications: true
};

const UNIT_S: Record<string, number> = { s: 1, m: 60, min: 60, h: 3600 };
const DURATION = /^\s*(\d+)\s*(s|m|min|h)\s*$/;

/** "30m" → 1800; null for anything else. */
export function seconds(text: unknown): number | null {
  const match = typeof text === 'string' ? DURATION.exec(text) : null;
  return match ? Number(match[1]) * UNIT_S[match[2]] : null;
}

/** The settings from the registry's composite value; defaults for what is missing or wrong. */
export function settingsFrom(composite: Record<string, unknown>): LeaseSettings {
  const listed = Array.isArray(composite.warnAt) ? composite.warnAt.map(seconds) : [];
  const flag = (name: keyof LeaseSettings): boolean =>
    typeof composite[name] === 'boolean'
      ? (composite[name] as boolean)
      : (DEFAULT_SETTINGS[name] as boolean);
  return {
    warnAt: thresholdsFrom(listed),
    notifications: flag('notifications'),
    browserNotifications: flag('browserNotifications')
  };
}
