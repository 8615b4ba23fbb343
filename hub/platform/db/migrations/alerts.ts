import { sql } from 'kysely';
import { serial, serialKey } from './columns.js';
import type { Step } from './index.js';

/**
 * Alerts (0005, hub/alerts/store.ts): alerts, their timeline, settings, and the push replay log (hub/push/log.ts).
 * Entries of THE ordered list in index.ts (which spreads them in place). Append only, as there.
 */
export const ALERT_MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
  [
    '0005_alerts',
    async (db, dialect) => {
      // Alerts (hub/alerts/store.ts), their timeline, settings, and the push replay log (hub/push/log.ts).
      await db.schema
        .createTable('alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('device', 'text', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('severity', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('open', 'acknowledged', 'escalated', 'resolved')`))
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('opened_at', 'bigint', (c) => c.notNull())
        .addColumn('last_at', 'bigint', (c) => c.notNull())
        .addColumn('ack_at', 'bigint')
        .addColumn('ack_by', 'text')
        .addColumn('resolved_at', 'bigint')
        .addColumn('resolved_by', 'text')
        .addColumn('resolution', 'text')
        .addColumn('level', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('notified_at', 'bigint')
        .addColumn('assignee', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('cleared_at', 'bigint')
        .addColumn('cleared_event', 'text')
        .execute();
      // The dedup key: at most one unresolved alert per estate + device + rule + key (a partial unique index on both engines).
      await db.schema
        .createIndex('alerts_dedup')
        .on('alerts')
        .columns(['estate', 'device', 'rule', 'key'])
        .unique()
        .where(sql.ref('state'), '<>', 'resolved')
        .execute();
      await db.schema.createIndex('alerts_list').on('alerts').columns(['opened_at desc', 'id desc']).execute();
      await db.schema.createIndex('alerts_estate').on('alerts').columns(['estate', 'opened_at desc', 'id desc']).execute();
      await db.schema.createIndex('alerts_unresolved').on('alerts').column('state').where(sql.ref('state'), '<>', 'resolved').execute();
      await db.schema.createIndex('alerts_resolved').on('alerts').columns(['resolved_at desc', 'id desc']).where(sql.ref('state'), '=', 'resolved').execute();
      await db.schema
        .createTable('alert_transitions')
        .addColumn('id', serial(dialect), serialKey(dialect))
        .addColumn('alert', 'text', (c) => c.notNull().references('alerts.id'))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('from', 'text')
        .addColumn('to', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .execute();
      await db.schema.createIndex('alert_transitions_alert').on('alert_transitions').columns(['alert', 'id']).execute();
      await db.schema
        .createTable('alert_events')
        .addColumn('id', serial(dialect), serialKey(dialect))
        .addColumn('alert', 'text', (c) => c.notNull().references('alerts.id'))
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('snapshots', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await db.schema.createIndex('alert_events_link').on('alert_events').columns(['alert', 'event_id']).unique().execute();
      await db.schema.createIndex('alert_events_event').on('alert_events').column('event_id').execute();
      await db.schema
        .createTable('alert_comments')
        .addColumn('id', serial(dialect), serialKey(dialect))
        .addColumn('alert', 'text', (c) => c.notNull().references('alerts.id'))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alert_comments_alert').on('alert_comments').columns(['alert', 'id']).execute();
      await db.schema
        .createTable('alert_activity')
        .addColumn('id', serial(dialect), serialKey(dialect))
        .addColumn('alert', 'text', (c) => c.notNull().references('alerts.id'))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('notified', 'repeat', 'condition-cleared')`))
        .addColumn('actor', 'text')
        .addColumn('level', 'integer')
        .addColumn('reason', 'text')
        .addColumn('event_id', 'text')
        .addColumn('count', 'integer')
        .execute();
      await db.schema.createIndex('alert_activity_alert').on('alert_activity').columns(['alert', 'kind', 'id']).execute();
      await db.schema
        .createTable('alert_pending_snapshots')
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('alert_pending_snapshots_pk', ['event_id', 'sha256'])
        .execute();
      await db.schema.createIndex('alert_pending_snapshots_at').on('alert_pending_snapshots').column('at').execute();
      await db.schema
        .createTable('alert_settings')
        .addColumn('estate', 'text', (c) => c.primaryKey())
        .addColumn('json', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('push_log')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('push_log_pk', ['scope', 'seq'])
        .execute();
      await db.schema.createIndex('push_log_at').on('push_log').column('at').execute();
    },
  ],
];
