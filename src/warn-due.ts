// Which warning a repaint of the status item calls for: a pure function of what the views show
// (present.js) and the reading, no DOM, so that tests/frontend runs it under Node.

import type { Presentation, ReadingJSON } from '../jupyter_lease/static/present.js';

export interface Due {
  /** One warning of one deadline: the source, the deadline and the smallest threshold crossed. */
  key: string;
  deadline: number;
}

/** The warning due now, or null: notifications off, no deadline, or no threshold crossed. */
export function warningDue(
  p: Presentation,
  reading: Partial<ReadingJSON>,
  notifications: boolean
): Due | null {
  const deadline = typeof reading.deadline_ms === 'number' ? reading.deadline_ms : null;
  if (!notifications || deadline === null || p.threshold === null) return null;
  return { key: `${reading.source_id ?? ''}|${deadline}|${p.threshold}`, deadline };
}
