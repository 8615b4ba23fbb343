import type { Kysely, Migration, MigrationProvider } from 'kysely';
import type { Dialect } from '../open.js';
import { PLATFORM_MIGRATIONS } from './platform.js';
import { PEOPLE_MIGRATIONS } from './people.js';
import { ALERT_MIGRATIONS } from './alerts.js';
import { EVENT_MIGRATIONS } from './events.js';
import { CLUSTER_MIGRATIONS } from './cluster.js';
import { NOTIFY_MIGRATIONS } from './notify.js';
import { BLOB_MIGRATIONS, CLIP_MIGRATIONS } from './blobs.js';
import { CHECKPOINT_MIGRATIONS } from './checkpoints.js';
import { ORDERS_MIGRATIONS } from './orders.js';
import { WHISTLE_MIGRATIONS } from './whistles.js';
import { PATROL_MIGRATIONS } from './patrol.js';
import { VIDEO_MIGRATIONS } from './video.js';

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

export const MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
  // 0001–0002: the platform's own tables: audit log, dead letters.
  ...PLATFORM_MIGRATIONS,
  // 0003–0004: the registry (streets, grids, estates, gateways, devices) and people.
  ...PEOPLE_MIGRATIONS,
  // 0005: alerts, their timeline and settings, and the push replay log.
  ...ALERT_MIGRATIONS,
  // 0006: the durable event log, its cursors, the embedded event store, snapshot links.
  ...EVENT_MIGRATIONS,
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
