import { serial, serialKey } from './columns.js';
import type { Step } from './index.js';

/**
 * The event path (0006): the durable event log and its cursors (hub/eventlog), the embedded event store, snapshot links.
 * Entries of THE ordered list in index.ts (which spreads them in place). Append only, as there.
 */
export const EVENT_MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
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
];
