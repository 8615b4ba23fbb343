import { sql } from 'kysely';
import type { Step } from './index.js';

/**
 * The notification tables of the hub database (issue 17, docs/notifications.md), entries 0009–0011 of
 * THE ordered list in index.ts (which spreads them in place). Append only, as there.
 */
export const NOTIFY_MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
  [
    '0009_notify_outbox',
    async (db) => {
      // The notification outbox (hub/notify/outbox.ts, docs/notifications.md). The UNIQUE key is the
      // rule "one alert notifies one person once per escalation level per channel", kept by the database.
      await db.schema
        .createTable('notifications')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('severity', 'integer', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('channel_id', 'text', (c) => c.notNull())
        .addColumn('channel_type', 'text', (c) => c.notNull())
        .addColumn('address', 'text')
        .addColumn('lang', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'skipped')`))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_at', 'bigint', (c) => c.notNull())
        .addColumn('queued_at', 'bigint', (c) => c.notNull())
        .addColumn('sent_at', 'bigint')
        .addColumn('delivered_at', 'bigint')
        .addColumn('provider_id', 'text')
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('at_edge', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('fallback', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('notifications_once').on('notifications').columns(['alert_id', 'level', 'recipient', 'channel_id']).unique().execute();
      // The dispatcher's look for due rows (state = 'queued' ORDER BY next_at, read off the index) and its
      // crash recovery (state = 'sending'). Not partial: SQLite uses a partial index only when the query's
      // WHERE repeats the index's own term, and `state = 'queued'` does not repeat `state IN (…)`.
      await db.schema.createIndex('notifications_due').on('notifications').columns(['state', 'next_at', 'id']).execute();
    },
  ],
  [
    '0010_contacts',
    async (db) => {
      // Contact points and policy (hub/notify/contacts.ts): per person, and group robots per estate or grid.
      await db.schema
        .createTable('contact_points')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('phone', 'wecom-user')`))
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('min_severity', 'integer', (c) => c.notNull().check(sql`min_severity BETWEEN 1 AND 4`))
        .addColumn('fallback', 'integer', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('contact_points_unique', ['user_id', 'channel', 'address'])
        .execute();
      await db.schema.createIndex('contact_points_address').on('contact_points').column('address').execute();
      await db.schema
        .createTable('contact_policies')
        .addColumn('user_id', 'text', (c) => c.primaryKey())
        .addColumn('quiet_from', 'text')
        .addColumn('quiet_to', 'text')
        .addColumn('lang', 'text', (c) => c.notNull().check(sql`lang IN ('zh-CN', 'en')`))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('group_robots')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('min_severity', 'integer', (c) => c.notNull().check(sql`min_severity BETWEEN 1 AND 4`))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('group_robots_unique', ['scope', 'channel'])
        .execute();
    },
  ],
  [
    '0011_webpush',
    async (db) => {
      // Web Push (hub/notify/webpush-store.ts): the phone view's push subscriptions, one row per
      // browser endpoint, owned by one user. (The VAPID key pair is a row of hub_keys.)
      await db.schema
        .createTable('push_subscriptions')
        .addColumn('endpoint', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('p256dh', 'text', (c) => c.notNull())
        .addColumn('auth', 'text', (c) => c.notNull())
        .addColumn('user_agent', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_success_at', 'bigint')
        .execute();
      await db.schema.createIndex('push_subscriptions_user').on('push_subscriptions').columns(['user_id', 'created_at']).execute();
    },
  ],
];
