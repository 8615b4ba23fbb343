import { sql } from 'kysely';
import { serial, serialKey } from './columns.js';
import type { Step } from './index.js';

/**
 * The registry (0003: streets, grids, estates, gateways, devices) and people (0004: users, shifts, roster exceptions, hand-overs, refresh tokens).
 * Entries of THE ordered list in index.ts (which spreads them in place). Append only, as there.
 */
export const PEOPLE_MIGRATIONS: ReadonlyArray<readonly [name: string, up: Step]> = [
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
];
