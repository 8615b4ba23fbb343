import type { Database } from 'better-sqlite3';
import type { AlertActivity } from './types.js';

/**
 * What happened to an alert besides its state transitions and comments, for its timeline
 * (`alert_activity` in `{dataDir}/alerts.db`): every notification the engine sent (who, at which
 * level, why), the repeats (the latest REPEATS_KEPT; the alert's `count` says how many there were)
 * and the condition clearing. Called inside the store's transactions.
 */
export interface ActivityLog {
  notified(alert: string, at: number, level: number, reason: string, actors: readonly string[]): void;
  repeat(alert: string, at: number, count: number, eventId: string | undefined): void;
  conditionCleared(alert: string, at: number, eventId: string | undefined): void;
  of(alert: string): AlertActivity[];
}

/** Repeats kept per alert; older ones are dropped (the timeline says how many it leaves out). */
export const REPEATS_KEPT = 20;
/** Notification rows kept per alert: a day of re-notifying a level every 5 min reaches a few hundred. */
const NOTIFIED_KEPT = 2_000;

type Row = { at: number; kind: AlertActivity['kind']; actor: string | null; level: number | null; reason: string | null; event_id: string | null; count: number | null };

export function createActivityLog(db: Database): ActivityLog {
  const insert = db.prepare('INSERT INTO alert_activity (alert, at, kind, actor, level, reason, event_id, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const trim = db.prepare('DELETE FROM alert_activity WHERE rowid IN (SELECT rowid FROM alert_activity WHERE alert = ? AND kind = ? ORDER BY rowid DESC LIMIT -1 OFFSET ?)');
  const rows = db.prepare<[string], Row>('SELECT at, kind, actor, level, reason, event_id, count FROM alert_activity WHERE alert = ? ORDER BY rowid');
  return {
    notified(alert, at, level, reason, actors) {
      for (const actor of actors) insert.run(alert, at, 'notified', actor, level, reason, null, null);
      if (actors.length) trim.run(alert, 'notified', NOTIFIED_KEPT);
    },
    repeat(alert, at, count, eventId) {
      insert.run(alert, at, 'repeat', null, null, null, eventId ?? null, count);
      trim.run(alert, 'repeat', REPEATS_KEPT);
    },
    conditionCleared(alert, at, eventId) {
      insert.run(alert, at, 'condition-cleared', null, null, null, eventId ?? null, null);
    },
    of(alert) {
      return rows.all(alert).map((r): AlertActivity => {
        const eventId = r.event_id !== null ? { eventId: r.event_id } : {};
        if (r.kind === 'notified') return { kind: 'notified', at: r.at, actor: r.actor ?? '', level: r.level ?? 0, reason: r.reason ?? '' };
        if (r.kind === 'repeat') return { kind: 'repeat', at: r.at, count: r.count ?? 0, ...eventId };
        return { kind: 'condition-cleared', at: r.at, ...eventId };
      });
    },
  };
}
