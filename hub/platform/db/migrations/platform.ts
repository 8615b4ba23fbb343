import { serial, serialKey } from './columns.js';
import type { Step } from './index.js';

/**
 * The platform's own tables (0001–0002): the audit log and dead letters.
 * Entries of THE ordered list in index.ts (which spreads them in place). Append only, as there.
 */
export const PLATFORM_MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
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
];
