import { CompiledQuery, sql, type Expression, type ExpressionBuilder, type SqlBool, type Transaction } from 'kysely';
import type { Logger } from '../../lib/log.js';
import type { RbEvent } from '../../protocol/index.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { Schema } from '../platform/db/schema.js';
import { checkCountQuery, type CountQuery, type EventQuery, type EventStore } from './types.js';

/** Rows per INSERT statement at most (9 parameters a row: far below both engines' parameter limits). */
const CHUNK = 256;
const COLUMNS = 9;

/**
 * The text of an INSERT of `n` rows (ON CONFLICT DO NOTHING on the primary key: a re-delivered
 * event stores nothing new and keeps the first received_at), compiled by kysely once per `n` and run
 * with new parameters: building and compiling the query per batch cost more than running it.
 * Parameters in column order: id, estate, gateway, device, type, ts, seq, data, received_at.
 */
const texts = new Map<string, string>();
function insertText(db: Transaction<Schema> | HubDatabase['db'], dialect: string, n: number): string {
  const cacheKey = `${dialect}:${n}`;
  let text = texts.get(cacheKey);
  if (text === undefined) {
    const blank: Schema['events'] = { id: '', estate: '', gateway: '', device: '', type: '', ts: 0, seq: 0, data: '', received_at: 0 };
    text = db.insertInto('events').values(Array.from({ length: n }, () => blank)).onConflict((oc) => oc.column('id').doNothing()).compile().sql;
    texts.set(cacheKey, text);
  }
  return text;
}

/**
 * PostgreSQL: the whole batch in one statement of constant text, its columns as arrays (unnest): one
 * round trip per batch however many rows it has, and nine parameters to parse instead of nine a row.
 */
const PG_INSERT =
  'insert into "events" ("id", "estate", "gateway", "device", "type", "ts", "seq", "data", "received_at") ' +
  'select "id", "estate", "gateway", "device", "type", "ts", "seq", "data", $9::bigint ' +
  'from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[]) ' +
  'as r("id", "estate", "gateway", "device", "type", "ts", "seq", "data") on conflict ("id") do nothing';

async function insertPostgres(db: Transaction<Schema> | HubDatabase['db'], events: readonly RbEvent[]): Promise<void> {
  const n = events.length;
  const cols = [new Array<string>(n), new Array<string>(n), new Array<string>(n), new Array<string>(n), new Array<string>(n), new Array<number>(n), new Array<number>(n), new Array<string>(n)] as const;
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    cols[0][i] = e.id;
    cols[1][i] = e.estate;
    cols[2][i] = e.gateway;
    cols[3][i] = e.device;
    cols[4][i] = e.type;
    cols[5][i] = e.ts;
    cols[6][i] = e.seq;
    cols[7][i] = JSON.stringify(e.data);
  }
  await db.executeQuery(CompiledQuery.raw(PG_INSERT, [...cols, Date.now()]));
}

async function insert(db: Transaction<Schema> | HubDatabase['db'], dialect: string, events: readonly RbEvent[]): Promise<void> {
  if (dialect === 'postgres') return insertPostgres(db, events);
  const receivedAt = Date.now();
  // A batch of n rows runs as statements of power-of-two sizes (n = 145: 128 + 16 + 1), so at most
  // nine texts are ever prepared (hub/platform/db/open.ts keeps them) and no row is sent twice.
  for (let from = 0; from < events.length; ) {
    const left = events.length - from;
    const n = left >= CHUNK ? CHUNK : 2 ** Math.floor(Math.log2(left));
    const params: unknown[] = new Array<unknown>(n * COLUMNS);
    for (let i = 0, k = 0; i < n; i++) {
      const e = events[from + i]!;
      params[k++] = e.id;
      params[k++] = e.estate;
      params[k++] = e.gateway;
      params[k++] = e.device;
      params[k++] = e.type;
      params[k++] = e.ts;
      params[k++] = e.seq;
      params[k++] = JSON.stringify(e.data);
      params[k++] = receivedAt;
    }
    await db.executeQuery(CompiledQuery.raw(insertText(db, dialect, n), params));
    from += n;
  }
}

export interface SqliteStoreOptions {
  /** The hub database (hub/platform/db): table `events`, SQLite or PostgreSQL. */
  db: HubDatabase;
  log: Logger;
}

/**
 * The embedded event store (no InfluxDB configured): table `events` of the hub database, on
 * SQLite (`{dataDir}/hub.db`, the default) or PostgreSQL. Ingest writes a batch in the transaction
 * that appends it to the event log (`writeIn`), so an event is stored and logged, or neither.
 */
export function createSqliteStore(opts: SqliteStoreOptions): EventStore {
  const { db: hubDb } = opts;
  const log = opts.log.child({ module: 'hub.store.sqlite' });
  let started = false;
  const open = (): HubDatabase['db'] => {
    if (!started) throw new Error('event store is not started');
    return hubDb.db;
  };

  return {
    kind: hubDb.dialect === 'sqlite' ? 'sqlite' : 'postgres',

    async start() {
      if (started) return;
      await hubDb.migrate();
      started = true;
      log.info({ dialect: hubDb.dialect }, 'event store started (hub database)');
    },

    async stop() {
      // The database is the hub's to close.
      started = false;
    },

    async write(events) {
      open();
      if (events.length === 0) return;
      await hubDb.transaction((trx) => insert(trx, hubDb.dialect, events));
    },

    async writeIn(trx, events) {
      open();
      if (events.length > 0) await insert(trx, hubDb.dialect, events);
    },

    async query(q: EventQuery) {
      const db = open();
      if (!Number.isInteger(q.limit) || q.limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${q.limit}`);
      for (const key of ['from', 'to'] as const) {
        const value = q[key];
        if (value !== undefined && !Number.isSafeInteger(value)) throw new RangeError(`${key} must be an integer ms time, got ${value}`);
      }
      if (q.before && (!Number.isSafeInteger(q.before.ts) || !Number.isSafeInteger(q.before.seq))) {
        throw new RangeError(`before must hold integer ts and seq, got ${q.before.ts}, ${q.before.seq}`);
      }
      if (q.limit === 0) return [];
      const rows = await db
        .selectFrom('events')
        .select(['id', 'estate', 'gateway', 'device', 'type', 'ts', 'seq', 'data'])
        .where((eb: ExpressionBuilder<Schema, 'events'>) => {
          const and: Array<Expression<SqlBool>> = [];
          if (q.estate !== undefined) and.push(eb('estate', '=', q.estate));
          if (q.gateway !== undefined) and.push(eb('gateway', '=', q.gateway));
          if (q.device !== undefined) and.push(eb('device', '=', q.device));
          if (q.type !== undefined) and.push(eb('type', '=', q.type));
          if (q.from !== undefined) and.push(eb('ts', '>=', q.from));
          if (q.to !== undefined) and.push(eb('ts', '<', q.to));
          if (q.before) {
            const { ts, seq, id } = q.before;
            // Keyset pagination as a row-value comparison, so both engines seek the (…, ts, seq) index.
            and.push(
              id === undefined
                ? eb(eb.refTuple('ts', 'seq'), '<', eb.tuple(ts, seq))
                : eb(eb.refTuple('ts', 'seq', 'id'), '<', eb.tuple(ts, seq, id)),
            );
          }
          return eb.and(and);
        })
        .orderBy('ts', 'desc')
        .orderBy('seq', 'desc')
        .orderBy('id', 'desc')
        .limit(q.limit)
        .execute();
      return rows.map(
        (r) =>
          ({
            v: 1 as const,
            id: r.id,
            seq: Number(r.seq),
            ts: Number(r.ts),
            estate: r.estate,
            gateway: r.gateway,
            device: r.device,
            type: r.type,
            data: JSON.parse(r.data) as unknown,
          }) as RbEvent,
      );
    },

    async counts(q: CountQuery) {
      const db = open();
      const interval = checkCountQuery(q);
      // Integer bucketing aligned to the epoch; the double modulo floors negative times too, as
      // InfluxDB's GROUP BY time() does. The interval is one of four integer constants, written as a
      // literal so the SELECT and the GROUP BY expressions are the same text (PostgreSQL compares them).
      const n = sql.lit(interval);
      const start = sql<number>`ts - ((ts % ${n}) + ${n}) % ${n}`;
      const rows = await db
        .selectFrom('events')
        .select([start.as('start'), 'type', (eb) => eb.fn.countAll().as('count')])
        .where((eb) => {
          const and: Array<Expression<SqlBool>> = [eb('ts', '>=', q.from), eb('ts', '<', q.to)];
          if (q.estate !== undefined) and.push(eb('estate', '=', q.estate));
          if (q.device !== undefined) and.push(eb('device', '=', q.device));
          if (q.type !== undefined) and.push(eb('type', '=', q.type));
          return eb.and(and);
        })
        .groupBy([start, 'type'])
        .orderBy('start')
        .orderBy('type')
        .execute();
      return rows.map((r) => ({ start: Number(r.start), type: r.type, count: Number(r.count) }));
    },
  };
}
