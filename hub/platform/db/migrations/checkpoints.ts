import type { Step } from './index.js';

/**
 * The owner's rule memory, checkpointed with its log cursor (issue 18, hub/alerts/checkpoint.ts):
 * entries of THE ordered list in index.ts (which spreads them in place). Append only, as there.
 */
export const CHECKPOINT_MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
  [
    '0018_rule_checkpoints',
    async (db) => {
      // One row per estate: its rule memory (JSON) as it was after the entries up to `pos` of its
      // partition. A new owner starts from it and replays, without acting, what lies up to the cursor.
      await db.schema
        .createTable('rule_checkpoints')
        .addColumn('estate', 'text', (c) => c.primaryKey())
        .addColumn('part', 'integer', (c) => c.notNull())
        .addColumn('pos', 'bigint', (c) => c.notNull())
        .addColumn('memory', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('rule_checkpoints_part').on('rule_checkpoints').column('part').execute();
    },
  ],
];
