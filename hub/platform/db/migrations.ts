import type { Kysely, Migration, MigrationProvider } from 'kysely';
import type { Dialect } from './open.js';

/**
 * THE ordered list of schema changes of the hub database, on both engines (Grafana's migrator,
 * Home Assistant's recorder: one list, one version). Append only: a migration that has run in the
 * field is never edited; a change is a new entry. Names sort in order (kysely's Migrator runs them
 * by name), so they carry a zero-padded number.
 *
 * The list is code, not files found at run time: the bundled hub has no migration folder to scan.
 * Each migration gets the engine, for the one thing the two spell differently: an auto-increment key.
 */
type Step = (db: Kysely<unknown>, dialect: Dialect) => Promise<void>;

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
