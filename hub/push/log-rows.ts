import { createHash } from 'node:crypto';
import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import { jsonText } from '../../lib/json-text.js';
import type { HubDatabase, Schema } from '../platform/db/index.js';
import type { PushEnvelope } from './log.js';

/** A row of `push_log` as written. */
export type Row = { scope: string; seq: number; at: number; event: string; data: string };

/** Rows per INSERT statement at most on SQLite (5 parameters a row: far below its parameter limit). */
const CHUNK = 256;
/**
 * PostgreSQL: every row of a write in one statement of constant text, the columns as arrays, so a
 * write costs one round trip however many rows it has and the server parses five parameters, not
 * five per row.
 */
const PG_INSERT =
  'insert into "push_log" ("scope", "seq", "at", "event", "data") ' +
  'select * from unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[])';

/**
 * Advisory lock keys of the push log: `pg_advisory_xact_lock(PUSH_LOCK_CLASS, lockKey(scope))`, the
 * two-int form, so the first int keeps these apart from any other advisory lock in the database.
 * Two scopes with the same 32-bit key only wait for each other; locks are taken in key order, so two
 * writers never wait on each other in a cycle.
 */
export const PUSH_LOCK_CLASS = 0x52420001;
export function lockKey(scope: string): number {
  return createHash('sha1').update(scope).digest().readInt32BE(0);
}

/** The SQL of the push log's writes (hub/push/log.ts): batched INSERTs, a scope's committed maximum, the shared writers' locked insert. */
export interface PushRows {
  /** Insert rows whose sequences are given (one writer process). */
  insertRows(exec: Kysely<Schema>, rows: Row[]): Promise<void>;
  /** The last committed sequence of `scope` (0 when none). */
  committedMax(exec: Kysely<Schema>, scope: string): Promise<number>;
  /** Shared writers: lock the scopes, insert above each one's committed maximum, and set each envelope's seq. */
  insertShared(trx: Transaction<Schema>, envelopes: PushEnvelope[]): Promise<void>;
}

/** The push log's row writes for one database dialect (the SQLite statement texts are cached per instance). */
export function createPushRows(dialect: HubDatabase['dialect']): PushRows {
  /**
   * The INSERT of `n` rows, built once by the query builder and then run with new parameters: logging
   * runs for every pushed event, and building and compiling an insert costs more than running it.
   */
  const inserts = new Map<number, string>();
  function insertText(exec: Kysely<Schema>, n: number): string {
    let text = inserts.get(n);
    if (text === undefined) {
      const blank: Row = { scope: '', seq: 0, at: 0, event: '', data: '' };
      text = exec.insertInto('push_log').values(Array.from({ length: n }, () => blank)).compile().sql;
      inserts.set(n, text);
    }
    return text;
  }
  async function insertRows(exec: Kysely<Schema>, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    if (dialect === 'postgres') {
      const n = rows.length;
      const cols = [new Array<string>(n), new Array<number>(n), new Array<number>(n), new Array<string>(n), new Array<string>(n)] as const;
      for (let i = 0; i < n; i++) {
        const r = rows[i]!;
        cols[0][i] = r.scope;
        cols[1][i] = r.seq;
        cols[2][i] = r.at;
        cols[3][i] = r.event;
        cols[4][i] = r.data;
      }
      await exec.executeQuery(CompiledQuery.raw(PG_INSERT, [...cols]));
      return;
    }
    // Statements of power-of-two sizes (145 rows: 128 + 16 + 1): nine texts in all, each prepared
    // once (hub/platform/db/open.ts keeps them), and no row sent twice.
    for (let from = 0; from < rows.length; ) {
      const left = rows.length - from;
      const n = left >= CHUNK ? CHUNK : 2 ** Math.floor(Math.log2(left));
      const params: unknown[] = new Array<unknown>(n * 5);
      for (let i = 0, k = 0; i < n; i++) {
        const r = rows[from + i]!;
        params[k++] = r.scope;
        params[k++] = r.seq;
        params[k++] = r.at;
        params[k++] = r.event;
        params[k++] = r.data;
      }
      await exec.executeQuery(CompiledQuery.raw(insertText(exec, n), params));
      from += n;
    }
  }

  async function committedMax(exec: Kysely<Schema>, scope: string): Promise<number> {
    const r = await exec.selectFrom('push_log').select((eb) => eb.fn.max('seq').as('m')).where('scope', '=', scope).executeTakeFirst();
    return r?.m === null || r?.m === undefined ? 0 : Number(r.m);
  }


  /**
   * Shared writers: a transaction-level advisory lock per scope (in key order; held until COMMIT, so
   * no other process gives a sequence of these scopes meanwhile), then ONE statement, started after
   * the locks are held (READ COMMITTED: it sees every row committed before), that reads each scope's
   * maximum and inserts the rows above it. Its own rows are invisible to its reads. Sets env.seq.
   */
  async function insertShared(trx: Transaction<Schema>, envelopes: PushEnvelope[]): Promise<void> {
    const count = new Map<string, number>();
    const n = envelopes.map((e) => {
      const k = (count.get(e.scope) ?? 0) + 1;
      count.set(e.scope, k);
      return k;
    });
    const scopes = [...count.keys()];
    const keys = [...new Set(scopes.map(lockKey))].sort((a, b) => a - b);
    // unnest yields the array in order: the locks are taken in key order.
    await sql`SELECT pg_advisory_xact_lock(${PUSH_LOCK_CLASS}::int, k) FROM unnest(${keys}::int[]) AS t(k)`.execute(trx);
    const r = await sql<{ scope: string; seq: number | string }>`
      WITH m AS (SELECT s.scope, coalesce((SELECT max(p.seq) FROM push_log p WHERE p.scope = s.scope), 0) AS m FROM unnest(${scopes}::text[]) AS s(scope))
      INSERT INTO push_log (scope, seq, at, event, data)
      SELECT r.scope, m.m + r.n, r.at, r.event, r.data
      FROM unnest(${envelopes.map((e) => e.scope)}::text[], ${n}::bigint[], ${envelopes.map((e) => e.at)}::bigint[], ${envelopes.map((e) => e.event)}::text[], ${envelopes.map((e) => jsonText(e.data))}::text[]) AS r(scope, n, at, event, data)
      JOIN m ON m.scope = r.scope
      RETURNING scope, seq`.execute(trx);
    const base = new Map<string, number>();
    for (const row of r.rows) {
      const s = Number(row.seq);
      if (s <= (base.get(row.scope) ?? Infinity)) base.set(row.scope, s);
    }
    envelopes.forEach((e, i) => (e.seq = base.get(e.scope)! - 1 + n[i]!));
  }

  return { insertRows, committedMax, insertShared };
}
