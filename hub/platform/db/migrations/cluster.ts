import { sql } from 'kysely';
import type { Step } from './index.js';

/** Partitions the estates hash to (hub/cluster/partition.ts): fixed, so a partition's rows never move. */
export const PARTITION_COUNT = 64;

/**
 * The hub cluster's tables (issue 18, docs/cluster.md), entries of THE ordered list in index.ts
 * (which spreads them in place). Append only, as there.
 */
export const CLUSTER_MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
  [
    '0013_partitions',
    async (db, dialect) => {
      // Each log entry's partition (hash of its estate): an owner reads its partitions' entries that
      // other nodes appended. Indexed on PostgreSQL only: the embedded hub is one node, never reads
      // by partition, and would pay the index on every event.
      await db.schema.alterTable('event_log').addColumn('part', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      if (dialect === 'postgres') await db.schema.createIndex('event_log_part_pos').on('event_log').columns(['part', 'pos']).execute();
      // The newest position of each partition. An append locks the rows of its partitions (in order)
      // before it takes positions, so within a partition positions follow commit order across nodes,
      // and the appender learns the position before its own (no read needed to know it is next).
      await db.schema
        .createTable('log_heads')
        .addColumn('part', 'integer', (c) => c.primaryKey())
        .addColumn('head', 'bigint', (c) => c.notNull())
        .execute();
      // One lease per partition: its owner, an epoch raised by every takeover (fencing), and when it
      // lapses (database clock, ms).
      await db.schema
        .createTable('partition_leases')
        .addColumn('part', 'integer', (c) => c.primaryKey())
        .addColumn('owner', 'text')
        .addColumn('epoch', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      const head = await sql<{ pos: number | string | null }>`SELECT max(pos) AS pos FROM event_log`.execute(db);
      const at = Number(head.rows[0]?.pos ?? 0);
      for (let part = 0; part < PARTITION_COUNT; part++) {
        await sql`INSERT INTO log_heads (part, head) VALUES (${part}, ${at})`.execute(db);
        await sql`INSERT INTO partition_leases (part, owner, epoch, expires_at) VALUES (${part}, NULL, 0, 0)`.execute(db);
      }
    },
  ],
];
