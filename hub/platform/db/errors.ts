/**
 * Whether a failed statement broke a UNIQUE (or primary key) constraint, on either engine: SQLite
 * (better-sqlite3) says `SQLITE_CONSTRAINT_UNIQUE` / `_PRIMARYKEY`, PostgreSQL SQLSTATE 23505
 * (https://www.postgresql.org/docs/15/errcodes-appendix.html). Domain code asks this instead of
 * knowing either driver.
 */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
