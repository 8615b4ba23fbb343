import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Transaction } from 'kysely';
import type PG from 'pg';
import { lazyRequire } from '../../../lib/lazy.js';
import type { Logger } from 'pino';
import { migrationProvider, MIGRATIONS } from './migrations/index.js';
import type { Schema } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface DatabaseOptions {
  /** `postgres://user@host:port/db` (or `postgresql://`): PostgreSQL. Wins over `file`. */
  url?: string | undefined;
  /** The embedded SQLite file (`{dataDir}/hub.db`), or `:memory:`. */
  file?: string | undefined;
  log: Logger;
  /** PostgreSQL connections (default 10). */
  poolSize?: number;
  /**
   * SQLite: checkpoint the WAL from a worker thread (the hub's high-rate writes: the event log)
   * instead of in the writing connection, whose automatic checkpoint copies pages and syncs the file
   * on the event loop (measured: alert p99 134 ms → 9.5 ms at 5,000 ev/s). Default false (the CLI).
   */
  checkpointInWorker?: boolean;
}

export interface HubDatabase {
  readonly db: Kysely<Schema>;
  readonly dialect: Dialect;
  /** Run `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (trx: Transaction<Schema>) => Promise<T>): Promise<T>;
  /** Apply every migration not applied yet (idempotent; openDatabase already did). */
  migrate(): Promise<void>;
  /**
   * One consistent copy of the whole database in the file `out`, taken online (SQLite's backup API:
   * writers go on meanwhile; the copy is the database as of one moment). PostgreSQL: refused, with
   * the `pg_dump` command to use instead (docs/deploy.md, "Backups").
   */
  backup(out: string, onProgress?: (p: { totalPages: number; remainingPages: number }) => void): Promise<{ bytes: number }>;
  close(): Promise<void>;
}

/**
 * PostgreSQL's BIGINT (OID 20) arrives as a string by default, since it may exceed 2^53. Our
 * BIGINTs are ms times and row ids, far below 2^53: read them as numbers, like SQLite does, so the
 * repositories return the same values on both engines. Per pool, not pg's global `types`.
 */
const INT8 = 20;
/** Loaded for a PostgreSQL hub only: an embedded one never needs the client. */
const pgModule = lazyRequire<typeof PG>('pg');
const pgTypes = (pg: typeof PG) => ({
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
});

/**
 * kysely's SQLite driver prepares every query it runs; the hub runs the same few hundred statements
 * all day (an alert raise is ~20 of them, the push log one per tick). Keep the prepared ones (at most
 * STATEMENTS, the least recently used goes): a statement is reused only by the one connection that
 * runs one query at a time, so reuse is safe.
 */
const STATEMENTS = 1000;
function cacheStatements(sqlite: Database.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, Database.Statement>();
  sqlite.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (stmt) {
      cache.delete(source);
    } else {
      stmt = prepare(source);
      if (cache.size >= STATEMENTS) cache.delete(cache.keys().next().value!);
    }
    cache.set(source, stmt);
    return stmt;
  }) as typeof sqlite.prepare;
}

function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** Build the handle without touching the schema: `openDatabase` below also migrates. */
export function createDatabase(opts: DatabaseOptions): HubDatabase {
  const log = opts.log.child({ module: 'hub.db' });
  let dialect: Dialect;
  let db: Kysely<Schema>;
  let checkpointer: { stop(): Promise<void> } | undefined;
  let sqliteHandle: Database.Database | undefined;
  if (opts.url !== undefined && opts.url !== '') {
    if (!isPostgresUrl(opts.url)) throw new Error(`database url must start with postgres:// (got ${opts.url.split(':')[0]}:)`);
    dialect = 'postgres';
    const pg = pgModule();
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, types: pgTypes(pg) });
    // An idle client's error (server restart, network cut) is emitted on the pool; unhandled it would kill the process.
    pool.on('error', (err) => log.error({ err }, 'postgres idle connection failed'));
    // A connection that dies while checked out (inside a transaction, between its statements) emits
    // 'error' on the client, where pg-pool listens only while it is idle: unheard, it would throw and
    // end the hub (observed: PostgreSQL killed -9 under a running hub). Its pending query is rejected
    // anyway and pg-pool drops the broken client on release, so logging is all that is left to do.
    pool.on('connect', (client) => client.on('error', (err) => log.warn({ err: err.message }, 'postgres connection lost')));
    db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  } else {
    if (!opts.file) throw new Error('openDatabase needs a url (postgres://) or a file');
    if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
    dialect = 'sqlite';
    const sqlite = new Database(opts.file);
    // WAL: readers never block the writer and a commit is one append; NORMAL in WAL mode survives a
    // crash of the process (not of the OS without its last commits: https://sqlite.org/pragma.html#pragma_synchronous).
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    // The CLI writes from another process (`hub user add` while the hub runs): wait for its lock.
    sqlite.pragma('busy_timeout = 5000');
    if (opts.checkpointInWorker && opts.file !== ':memory:') {
      sqlite.pragma('wal_autocheckpoint = 0');
      checkpointer = startCheckpointer(opts.file, log);
    }
    cacheStatements(sqlite);
    sqliteHandle = sqlite;
    db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }) });
  }

  return {
    db,
    dialect,
    transaction: (fn) => db.transaction().execute(fn),
    async migrate() {
      const migrator = new Migrator({ db, provider: migrationProvider(dialect, MIGRATIONS) });
      const { error, results } = await migrator.migrateToLatest();
      for (const r of results ?? []) {
        if (r.status === 'Success') log.info({ migration: r.migrationName, dialect }, 'database migrated');
        else if (r.status === 'Error') log.error({ migration: r.migrationName, dialect }, 'database migration failed');
      }
      if (error) throw error instanceof Error ? error : new Error(String(error));
    },
    async backup(out, onProgress) {
      if (!sqliteHandle) {
        throw new Error('the hub database is PostgreSQL (db.url): back it up with pg_dump, e.g. pg_dump --format=custom --file=hub.dump "$RB_DB_URL"');
      }
      if (existsSync(out)) throw new Error(`${out} exists already: the backup never overwrites a file`);
      mkdirSync(dirname(out), { recursive: true });
      // SQLite's online backup, a few hundred pages a step so the hub's writers get their turns.
      await sqliteHandle.backup(out, {
        progress: (p) => {
          onProgress?.(p);
          return 200;
        },
      });
      return { bytes: statSync(out).size };
    },
    async close() {
      await db.destroy();
      // After the hub's connection: the worker's is then the last one, and its close checkpoints the
      // whole WAL and removes it.
      await checkpointer?.stop();
    },
  };
}

/** The checkpointing worker (CommonJS, run with eval): its own connection, PASSIVE checkpoints (never blocks the writer). */
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage(String(err && err.message)); } };
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

function startCheckpointer(file: string, log: Logger): { stop(): Promise<void> } {
  const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { file, module: createRequire(import.meta.url).resolve('better-sqlite3'), everyMs: 1000 } });
  worker.unref();
  worker.on('message', (message: unknown) => log.warn({ message }, 'WAL checkpoint failed'));
  worker.on('error', (err) => log.error({ err }, 'WAL checkpoint worker failed'));
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  return {
    async stop() {
      worker.postMessage('stop');
      await exited;
    },
  };
}

/**
 * The one way the hub opens its database (hub/platform/db is the only code that does): SQLite in
 * one file by default, PostgreSQL when a `postgres://` url is given; migrated to the latest schema
 * before it is returned.
 */
export async function openDatabase(opts: DatabaseOptions): Promise<HubDatabase> {
  const hubDb = createDatabase(opts);
  try {
    await hubDb.migrate();
  } catch (err) {
    await hubDb.close().catch(() => undefined);
    throw err;
  }
  return hubDb;
}
