import type { Step } from './index.js';

/**
 * Patrol rounds (巡更, issue 19), an entry of THE ordered list in index.ts (which spreads them in
 * place). Append only, as there. Tables: hub/platform/db/schema-patrol.ts.
 */
export const PATROL_MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
  [
    '0017_patrol',
    async (db) => {
      await db.schema
        .createTable('patrol_checkpoints')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('patrol_checkpoints_estate').on('patrol_checkpoints').columns(['estate', 'name']).execute();
      await db.schema
        .createTable('patrol_rounds')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('points', 'text', (c) => c.notNull())
        .addColumn('starts', 'text', (c) => c.notNull())
        .addColumn('window_minutes', 'integer', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('patrol_rounds_estate').on('patrol_rounds').columns(['estate']).execute();
      await db.schema
        .createTable('patrol_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('round_id', 'text', (c) => c.notNull())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('round_name', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        .addColumn('ends_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('patrol_runs_estate').on('patrol_runs').columns(['estate', 'starts_at']).execute();
      await db.schema.createIndex('patrol_runs_round').on('patrol_runs').columns(['round_id', 'starts_at']).execute();
      await db.schema
        .createTable('patrol_scans')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('checkpoint', 'text', (c) => c.notNull())
        .addColumn('estate', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('checkpoint_name', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('due_at', 'bigint', (c) => c.notNull())
        .addColumn('scanned_at', 'bigint')
        .addColumn('user_id', 'text')
        .addColumn('user_name', 'text')
        .addColumn('late', 'integer', (c) => c.notNull())
        .addColumn('missed_at', 'bigint')
        .addPrimaryKeyConstraint('patrol_scans_pk', ['run_id', 'checkpoint'])
        .execute();
      // The deadline sweep: points still open whose deadline passed. And a person's history.
      await db.schema.createIndex('patrol_scans_due').on('patrol_scans').columns(['estate', 'due_at']).execute();
      await db.schema.createIndex('patrol_scans_user').on('patrol_scans').columns(['user_id', 'scanned_at']).execute();
      await db.schema.createIndex('patrol_scans_checkpoint').on('patrol_scans').columns(['checkpoint', 'due_at']).execute();
    },
  ],
];
