import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from './open.js';
import { CLUSTER_MIGRATIONS } from './migrations-cluster.js';
import { NOTIFY_MIGRATIONS } from './migrations-notify.js';
import { BLOB_MIGRATIONS, CLIP_MIGRATIONS } from './migrations-blobs.js';
import { CHECKPOINT_MIGRATIONS } from './migrations-checkpoints.js';
import { ORDERS_MIGRATIONS } from './migrations-orders.js';
import { WHISTLE_MIGRATIONS } from './migrations-whistles.js';
import { PATROL_MIGRATIONS } from './migrations-patrol.js';
import { VIDEO_MIGRATIONS } from './migrations-video.js';

/**
 * THE ordered list of schema changes of the hub database, on both engines (Grafana's migrator,
 * Home Assistant's recorder: one list, one version). Append only: a migration that has run in the
 * field is never edited; a change is a new entry. Names sort in order (kysely's Migrator runs them
 * by name), so they carry a zero-padded number.
 *
 * The list is code, not files found at run time: the bundled hub has no migration folder to scan.
 * Each migration gets the engine, for the one thing the two spell differently: an auto-increment key.
 */
export type Step = (db: Kysely<unknown>, dialect: Dialect) => Promise<void>;

/** `INTEGER PRIMARY KEY AUTOINCREMENT` on SQLite (never reuses a deleted rowid), an identity column on PostgreSQL. */
function serial(dialect: Dialect) {
  return dialect === 'sqlite' ? ('integer' as const) : ('bigint' as const);
}
function serialKey(dialect: Dialect) {
  return (c: import('kysely').ColumnDefinitionBuilder) =>
    dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity();
}

export const MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
  [
    '0001_audit',
    async (db, dialect) => {
      await db.schema
        .createTable('audit')
        .addColumn('seq', serial(dialect), serialKey(dialect))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('estate', 'text')
        .addColumn('target', 'text')
        .addColumn('detail', 'text')
        .execute();
      await db.schema.createIndex('audit_estate').on('audit').columns(['estate', 'seq']).execute();
      await db.schema.createIndex('audit_actor').on('audit').columns(['actor', 'seq']).execute();
    },
  ],
  [
    '0002_dead_letters',
    async (db, dialect) => {
      await db.schema
        .createTable('dead_letters')
        .addColumn('id', serial(dialect), serialKey(dialect))
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('encoding', 'text', (c) => c.notNull())
        .addColumn('bytes', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('dead_letters_reason').on('dead_letters').columns(['reason', 'id']).execute();
    },
  ],
  [
    '0003_registry',
    async (db, dialect) => {
      await db.schema.createTable('streets').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('name', 'text').execute();
      await db.schema
        .createTable('grids')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('street', 'text', (c) => c.references('streets.id'))
        .addColumn('name', 'text')
        .execute();
      await db.schema
        .createTable('estates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('street', 'text', (c) => c.references('streets.id'))
        .addColumn('grid', 'text', (c) => c.references('grids.id'))
        .addColumn('name', 'text')
        .execute();
      await db.schema.createIndex('estates_street').on('estates').column('street').execute();
      await db.schema.createIndex('estates_grid').on('estates').column('grid').execute();
      await db.schema
        .createTable('gateways')
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('rotated_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addPrimaryKeyConstraint('gateways_pk', ['estate', 'gateway'])
        .execute();
      await db.schema
        .createTable('devices')
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('device', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .addColumn('online', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('devices_pk', ['estate', 'gateway', 'device'])
        .execute();
      await db.schema
        .createTable('registry_changes')
        .addColumn('id', serial(dialect), serialKey(dialect))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('estate', 'text')
        .addColumn('gateway', 'text')
        .addColumn('target', 'text')
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
    },
  ],
  [
    // People and roster (hub/people/, formerly people.db; upgrade-people.ts copies an old file in).
    '0004_people',
    async (db, dialect) => {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('display_name', 'text')
        .addColumn('role', 'text', (c) => c.notNull().check(sql`role IN ('volunteer', 'patrol', 'center', 'admin')`))
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('token_version', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('shifts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('weekday', 'integer', (c) => c.notNull().check(sql`weekday BETWEEN 1 AND 7`))
        .addColumn('start', 'text', (c) => c.notNull())
        .addColumn('end', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('shifts_estate').on('shifts').column('estate').execute();
      await db.schema
        .createTable('roster_exceptions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('from_at', 'bigint', (c) => c.notNull())
        .addColumn('to_at', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('off', 'on')`))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('roster_exceptions_estate').on('roster_exceptions').columns(['estate', 'to_at']).execute();
      await db.schema
        .createTable('handovers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('from_actor', 'text', (c) => c.notNull())
        .addColumn('from_name', 'text', (c) => c.notNull())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('to_users', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('handovers_estate').on('handovers').columns(['estate', 'at']).execute();
      await db.schema
        .createTable('refresh_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('family', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('token_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('replaced_by', 'text')
        .execute();
      await db.schema.createIndex('refresh_tokens_user').on('refresh_tokens').column('user_id').execute();
      await db.schema.createIndex('refresh_tokens_family').on('refresh_tokens').column('family').execute();
      await db.schema.createIndex('refresh_tokens_expires').on('refresh_tokens').column('expires_at').execute();
      await db.schema
        .createTable('people_changes')
        .addColumn('id', serial(dialect), serialKey(dialect))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .execute();
      await db.schema.createIndex('people_changes_at').on('people_changes').column('at').execute();
    },
  ],
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
  [
    '0006_event_log',
    async (db, dialect) => {
      // The durable log (hub/eventlog): the key `id` decides duplicates, `pos` orders it for cursors.
      await db.schema
        .createTable('event_log')
        .addColumn('pos', serial(dialect), serialKey(dialect))
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('log_cursors')
        .addColumn('consumer', 'text', (c) => c.primaryKey())
        .addColumn('pos', 'bigint', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
      // The embedded event store (no InfluxDB). Indexes end in (ts, seq) so "newest first" is read
      // straight off the index; (ts, seq) alone serves unfiltered and gateway-only reads.
      await db.schema
        .createTable('events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('device', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_estate_ts').on('events').columns(['estate', 'ts', 'seq']).execute();
      await db.schema.createIndex('events_estate_device_ts').on('events').columns(['estate', 'device', 'ts', 'seq']).execute();
      await db.schema.createIndex('events_type_ts').on('events').columns(['type', 'ts', 'seq']).execute();
      await db.schema.createIndex('events_ts').on('events').columns(['ts', 'seq']).execute();
      await db.schema
        .createTable('snapshot_links')
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('device', 'text', (c) => c.notNull())
        .addColumn('camera', 'text', (c) => c.notNull())
        .addColumn('taken_at', 'bigint', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('snapshot_links_pk', ['event_id', 'sha256'])
        .execute();
      await db.schema.createIndex('snapshot_links_sha').on('snapshot_links').columns(['sha256']).execute();
    },
  ],
  [
    '0007_commands',
    async (db) => {
      // Commands to devices and their answers (hub/commands): a row per command the hub sent.
      await db.schema
        .createTable('commands')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('device', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('args', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('issued_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('code', 'text')
        .addColumn('result', 'text')
        .addColumn('finished_at', 'bigint')
        .execute();
      // The expiry sweep reads unanswered commands by deadline; screens list an estate's newest.
      await db.schema.createIndex('commands_state_expires').on('commands').columns(['state', 'expires_at']).execute();
      await db.schema.createIndex('commands_estate_issued').on('commands').columns(['estate', 'issued_at']).execute();
    },
  ],
  [
    '0008_hub_keys',
    async (db) => {
      // Keys every hub process shares (the token signing key): in the database, not a node's data dir.
      await db.schema
        .createTable('hub_keys')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  ],
  // 0009–0011: notification (hub/notify): outbox, contact points, Web Push subscriptions.
  ...NOTIFY_MIGRATIONS,
  [
    '0012_node_health',
    async (db) => {
      // One row per hub node, rewritten by each /readyz: the proof that this node can commit, and
      // for the cluster a list of the nodes and when each last could.
      await db.schema
        .createTable('node_heartbeats')
        .addColumn('node_id', 'text', (c) => c.primaryKey())
        .addColumn('beat_at', 'bigint', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .execute();
    },
  ],
  // 0013–: the hub cluster (hub/cluster): partitions, their heads and leases.
  ...CLUSTER_MIGRATIONS,
  // 0014: snapshot images in the database (hub on PostgreSQL).
  ...BLOB_MIGRATIONS,
  // 0015: work orders (hub/orders).
  ...ORDERS_MIGRATIONS,
  // 0016: whistle and report on work orders (hub/orders/whistle.ts).
  ...WHISTLE_MIGRATIONS,
  // 0017: patrol rounds (hub/patrol).
  ...PATROL_MIGRATIONS,
  // 0018: the cluster owner's rule memory with its cursor (hub/alerts/checkpoint.ts).
  ...CHECKPOINT_MIGRATIONS,
  // 0019: alarm clips (hub/clips).
  ...CLIP_MIGRATIONS,
  // 0020: which node holds each gateway's video relay link (hub/video/relays.ts).
  ...VIDEO_MIGRATIONS,
];

/** The provider the Migrator reads: the list above, bound to the engine. */
export function migrationProvider(dialect: Dialect, list: typeof MIGRATIONS = MIGRATIONS): MigrationProvider {
  return {
    getMigrations: async () => {
      const out: Record<string, Migration> = {};
      for (const [name, up] of list) out[name] = { up: (db) => up(db, dialect) };
      return out;
    },
  };
}
