import Database from 'better-sqlite3';

/**
 * A local SQLite file that is not the hub database: the InfluxDB writer's spool and journal
 * (`{dataDir}/influx-spool.db`), which stay a file beside InfluxDB by design. Opened here because
 * hub/platform/db is the only code that opens a database. WAL with synchronous=NORMAL: a committed
 * write survives a crash of the hub process (https://sqlite.org/pragma.html#pragma_synchronous).
 */
export function openLocalSqlite(file: string): Database.Database {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
