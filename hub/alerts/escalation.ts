import { inDailyWindow, nextLocalTime } from './hours.js';
import type { AlertSettings } from './settings.js';
import type { AlertState } from './types.js';

/**
 * Escalation policy as a pure function (docs/alerts.md, "Escalation"). Levels: 0 on-duty volunteers,
 * 1 all volunteers of the estate, 2 the grid's patrol, 3 the street center; who those people are is
 * the roster's business. Level i (1..3) is due `ackMinutes[i-1]` after the alert opened without an
 * acknowledgement. A low-severity alert (severity <= quietHours.maxSeverity) is not notified during
 * quiet hours, and quiet hours do not count towards its escalation: its clock pauses at 23:00 and
 * runs on at 07:00, so the street center is not woken at 07:00 for a night's worth of waiting on a
 * severity-1 alert.
 */

export interface EscalationAlert {
  severity: number;
  state: AlertState;
  /** The level last notified (0 before any). */
  level: number;
  openedAt: number;
  /** When anyone was last notified; null/absent before the first notification. */
  notifiedAt?: number | null | undefined;
}

export interface EscalationDecision {
  /** Level due now, 0..3; never below the alert's current level. */
  level: number;
  /** Notify `level` now, and why; null when nothing is to be sent now. */
  notify: 'new' | 'escalated' | 'renotify' | null;
  /** A notification was due but quiet hours hold it until `wakeAt`. */
  deferred: boolean;
  /** When to look again (after notifying as told); null for acknowledged and resolved alerts. */
  wakeAt: number | null;
}

const MINUTE = 60_000;
/** Quiet/non-quiet segments walked at most (two a day: a year). */
const MAX_SEGMENTS = 730;

/** Decide what to notify for one alert at `now`. */
export function escalation(alert: EscalationAlert, settings: AlertSettings, now: number): EscalationDecision {
  if (alert.state === 'acknowledged' || alert.state === 'resolved') {
    return { level: alert.level, notify: null, deferred: false, wakeAt: null };
  }
  const { ackMinutes, renotifyMinutes } = settings.escalation;
  const qh = settings.quietHours;
  const tz = settings.timeZone;
  const quietApplies = alert.severity <= qh.maxSeverity && qh.from !== qh.to;
  const inQuiet = (t: number): boolean => quietApplies && inDailyWindow(t, qh, tz);
  /** The instant at which `ms` of escalation time (time outside quiet hours) has passed since `t0`. */
  const after = (t0: number, ms: number): number => {
    if (!quietApplies) return t0 + ms;
    let t = t0;
    let left = ms;
    for (let i = 0; i < MAX_SEGMENTS; i++) {
      if (inQuiet(t)) {
        t = nextLocalTime(t, qh.to, tz);
        continue;
      }
      const quietFrom = nextLocalTime(t, qh.from, tz);
      if (t + left <= quietFrom) return t + left;
      left -= quietFrom - t;
      t = quietFrom;
    }
    return t + left;
  };

  let due = 0;
  for (let l = 1; l <= 3; l++) if (now >= after(alert.openedAt, ackMinutes[l - 1]! * MINUTE)) due = l;
  due = Math.max(due, Math.min(3, alert.level));
  const nextLevelAt = due < 3 ? after(alert.openedAt, ackMinutes[due]! * MINUTE) : null;

  const notifiedAt = alert.notifiedAt ?? null;
  const renotifyMs = renotifyMinutes * MINUTE;
  let notify: EscalationDecision['notify'] = null;
  if (notifiedAt === null) notify = 'new';
  else if (due > alert.level) notify = 'escalated';
  else if (renotifyMs > 0 && now >= notifiedAt + renotifyMs) notify = 'renotify';

  if (inQuiet(now)) {
    return { level: due, notify: null, deferred: notify !== null, wakeAt: nextLocalTime(now, qh.to, tz) };
  }
  const last = notify ? now : notifiedAt;
  const candidates = [nextLevelAt, last !== null && renotifyMs > 0 ? last + renotifyMs : null].filter((t): t is number => t !== null);
  let wakeAt = candidates.length ? Math.min(...candidates) : null;
  // Nothing can be sent in quiet hours: look again when they end.
  if (wakeAt !== null && inQuiet(wakeAt)) wakeAt = nextLocalTime(wakeAt, qh.to, tz);
  return { level: due, notify, deferred: false, wakeAt };
}
