import type { Kysely } from 'kysely';
import type { Schema } from '../platform/db/index.js';
import type { AlertActivity } from './types.js';

/**
 * What happened to an alert besides its state transitions and comments, for its timeline (table
 * `alert_activity` of the hub database): every notification the engine sent (who, at which level,
 * why), the repeats (the latest REPEATS_KEPT; the alert's `count` says how many there were) and the
 * condition clearing. Written inside the store's transactions (`db` is the transaction).
 */
export interface ActivityLog {
  notified(db: Kysely<Schema>, alert: string, at: number, level: number, reason: string, actors: readonly string[]): Promise<void>;
  repeat(db: Kysely<Schema>, alert: string, at: number, count: number, eventId: string | undefined): Promise<void>;
  conditionCleared(db: Kysely<Schema>, alert: string, at: number, eventId: string | undefined): Promise<void>;
  of(db: Kysely<Schema>, alert: string): Promise<AlertActivity[]>;
}

/** Repeats kept per alert; older ones are dropped (the timeline says how many it leaves out). */
export const REPEATS_KEPT = 20;
/** Notification rows kept per alert: a day of re-notifying a level every 5 min reaches a few hundred. */
const NOTIFIED_KEPT = 2_000;

/** Keep the newest `keep` rows of one kind of one alert. */
async function trim(db: Kysely<Schema>, alert: string, kind: AlertActivity['kind'], keep: number): Promise<void> {
  const edge = await db
    .selectFrom('alert_activity')
    .select('id')
    .where('alert', '=', alert)
    .where('kind', '=', kind)
    .orderBy('id', 'desc')
    .limit(1)
    .offset(keep)
    .executeTakeFirst();
  if (edge) await db.deleteFrom('alert_activity').where('alert', '=', alert).where('kind', '=', kind).where('id', '<=', edge.id).execute();
}

export function createActivityLog(): ActivityLog {
  return {
    async notified(db, alert, at, level, reason, actors) {
      if (actors.length === 0) return;
      await db
        .insertInto('alert_activity')
        .values(actors.map((actor) => ({ alert, at, kind: 'notified' as const, actor, level, reason, event_id: null, count: null })))
        .execute();
      await trim(db, alert, 'notified', NOTIFIED_KEPT);
    },
    async repeat(db, alert, at, count, eventId) {
      await db.insertInto('alert_activity').values({ alert, at, kind: 'repeat', actor: null, level: null, reason: null, event_id: eventId ?? null, count }).execute();
      await trim(db, alert, 'repeat', REPEATS_KEPT);
    },
    async conditionCleared(db, alert, at, eventId) {
      await db
        .insertInto('alert_activity')
        .values({ alert, at, kind: 'condition-cleared', actor: null, level: null, reason: null, event_id: eventId ?? null, count: null })
        .execute();
    },
    async of(db, alert) {
      const rows = await db
        .selectFrom('alert_activity')
        .select(['at', 'kind', 'actor', 'level', 'reason', 'event_id', 'count'])
        .where('alert', '=', alert)
        .orderBy('id')
        .execute();
      return rows.map((r): AlertActivity => {
        const eventId = r.event_id !== null ? { eventId: r.event_id } : {};
        if (r.kind === 'notified') return { kind: 'notified', at: r.at, actor: r.actor ?? '', level: r.level ?? 0, reason: r.reason ?? '' };
        if (r.kind === 'repeat') return { kind: 'repeat', at: r.at, count: r.count ?? 0, ...eventId };
        return { kind: 'condition-cleared', at: r.at, ...eventId };
      });
    },
  };
}
