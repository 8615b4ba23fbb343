import type { ColumnDefinitionBuilder } from 'kysely';
import type { Dialect } from '../open.js';

/** Column spellings the two engines differ on, for the migrations: the auto-increment key. */

/** `INTEGER PRIMARY KEY AUTOINCREMENT` on SQLite (never reuses a deleted rowid), an identity column on PostgreSQL. */
export function serial(dialect: Dialect) {
  return dialect === 'sqlite' ? ('integer' as const) : ('bigint' as const);
}
export function serialKey(dialect: Dialect) {
  return (c: ColumnDefinitionBuilder) =>
    dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity();
}
