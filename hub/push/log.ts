import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import { jsonText } from '../../lib/json-text.js';
import type { HubDatabase, Schema } from '../platform/db/index.js';

/** One pushed message as logged: the envelope every Socket.IO push carries (docs/alerts.md). */
export interface PushEnvelope<T = unknown> {
  scope: string;
  seq: number;
  at: number;
  event: string;
  data: T;
}

export interface PushLogOptions {
  /** Keep messages this long (ms); default 7 days. */
  retentionMs?: number;
  /** Keep at most this many rows in all (the oldest go first); default 2,000,000. */
  maxRows?: number;
  /** Queued messages above which the next flush is started at once; default 1,024. */
  batchRows?: number;
  /**
   * Queued messages are written at most this long (ms) after the first of them; default 5, 0 = on
   * the next tick. One transaction per window instead of one per tick: logging runs for every pushed
   * event, and a transaction costs more than the rows in it.
   */
  flushMs?: number;
  /**
   * Commit the push consumer's event-log cursor in the transaction that writes the messages made
   * from the entries up to `pos` (hub/eventlog `saveCursorIn`): after a crash the consumer resumes
   * exactly after what reached this log, so nothing is pushed twice and nothing is skipped.
   */
  saveSourceCursor?: (trx: Transaction<Schema>, sources: readonly number[]) => Promise<void>;
  /**
   * The transaction with these sources committed, or failed (their messages were dropped: the
   * feed delivers their entries again). Cluster: `keepSource` false drops a queued message whose
   * partition this node handed over before it was written (hub/eventlog/feed-partitioned.ts).
   */
  sources?: { committed(sources: readonly number[]): void; failed(sources: readonly number[]): void; keep(source: number): boolean };
}

/** Log messages inside a caller's transaction (the outbox): each gets its seq now, is written before COMMIT, and is emitted after it. */
export interface PushOutbox {
  append<T>(scope: string, event: string, data: T, at?: number): Promise<PushEnvelope<T>>;
}

export interface PushLog {
  /** Where committed envelopes go, in commit order (hub/push: the sockets). Set once. */
  onCommit(sink: (envelopes: readonly PushEnvelope[]) => void): void;
  /**
   * Queue a message: it is written by the next writer (a flush, at most `flushMs` later, or an outbox
   * transaction, before its own messages), then handed to the sink. Its sequence is given at that
   * write, in append order, so a message that was never committed never used one (a failed flush is
   * logged and dropped: nothing of it was emitted).
   */
  /** `source`: the event-log position the message was made from (committed as the push consumer's cursor with it). */
  append(scope: string, event: string, data: unknown, at?: number, source?: number): void;
  /**
   * Run `fn` in one transaction of the hub database with an outbox: what it appends commits with
   * what `fn` wrote, or not at all, and reaches the sink only after COMMIT. Writers of the log run one
   * at a time (the sequence of a scope is given in commit order: no gap, no reordering).
   */
  transaction<T>(fn: (trx: Transaction<Schema>, out: PushOutbox) => Promise<T>): Promise<T>;
  /** Run `fn` while no write commits (a replay read, then joining the live rooms, with nothing in between). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Write what is queued (done `flushMs` after an append, and on close). */
  flush(): Promise<void>;
  /**
   * Committed messages of `scope` with a sequence above `after`, oldest first, at most `limit`.
   * Returns `null` when more than `limit` were missed (the client must reload over REST).
   */
  after(scope: string, after: number, limit: number): Promise<PushEnvelope[] | null>;
  /** The last committed sequence of `scope` (0 when none). */
  last(scope: string): Promise<number>;
  /** Drop rows past retention or the row cap; returns how many went. */
  prune(now?: number): Promise<number>;
  /** Write what is queued; appends after this are dropped. */
  close(): Promise<void>;
}

/** The writer's own side of the outbox: a sequence is given at once when its scope's last one is known. */
interface WriterOutbox {
  known(scope: string): boolean;
  /** Read the scope's committed maximum (once per scope and process). */
  load(scope: string): Promise<void>;
  give<T>(scope: string, event: string, data: T, at: number): PushEnvelope<T>;
}

type Row = { scope: string; seq: number; at: number; event: string; data: string };
type Queued = { scope: string; event: string; data: unknown; at: number; source: number | undefined };
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
 * The replay log of live push, table `push_log` of the hub database. Each scope (`estate:E`, `user:U`)
 * has its own sequence with no gaps: a sequence is given only inside the transaction that writes the
 * row, writers run one at a time, and the sink (the sockets) only ever sees committed rows. So after
 * a crash or a restart the sequence continues from the committed maximum, and a screen that
 * reconnects with its `since` is replayed every message it missed; a gap it sees is a real loss.
 */
export function createPushLog(hubDb: HubDatabase, log: Logger, opts: PushLogOptions = {}): PushLog {
  const { db } = hubDb;
  const retentionMs = opts.retentionMs ?? 7 * 24 * 3600_000;
  const maxRows = opts.maxRows ?? 2_000_000;
  const batchRows = opts.batchRows ?? 1024;
  const flushMs = opts.flushMs ?? 5;
  /** Last committed (or, inside the running writer, given) sequence per scope; absent = read it from the table. */
  const seqs = new Map<string, number>();
  let sink: (envelopes: readonly PushEnvelope[]) => void = () => undefined;
  let queue: Queued[] = [];
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  function schedule(): void {
    if (timer) return;
    const run = () => {
      timer = undefined;
      void pushLog.flush();
    };
    timer = flushMs > 0 ? setTimeout(run, flushMs) : setImmediate(run);
  }
  let closed = false;
  /** The writer lock: a chain of the writes (and exclusive readers) in order. */
  let tail: Promise<unknown> = Promise.resolve();

  function locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  }

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
    if (hubDb.dialect === 'postgres') {
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

  /** One write: rows get their seqs, are inserted before COMMIT, and reach the sink after it. */
  /** `requeue`: on a rollback, put the queued messages it took back (an outbox transaction that failed for its own reasons). */
  async function write<T>(fn: (trx: Transaction<Schema>, out: PushOutbox & WriterOutbox) => Promise<T>, requeue: boolean): Promise<T> {
    const rows: Row[] = [];
    const envelopes: PushEnvelope[] = [];
    const before = new Map<string, number | undefined>();
    const sources: number[] = [];
    let sinkRefused = false;
    // What was queued before this writer got its turn goes first: sequences follow append order.
    const queued = queue;
    queue = [];
    let result: T;
    try {
      result = await hubDb.transaction(async (trx) => {
        const out: PushOutbox & WriterOutbox = {
          known: (scope) => seqs.has(scope),
          async load(scope) {
            const m = await committedMax(trx, scope);
            if (!seqs.has(scope)) {
              if (!before.has(scope)) before.set(scope, undefined);
              seqs.set(scope, m);
            }
          },
          give<D>(scope: string, event: string, data: D, at: number): PushEnvelope<D> {
            const s = seqs.get(scope)! + 1;
            if (!before.has(scope)) before.set(scope, s - 1);
            seqs.set(scope, s);
            rows.push({ scope, seq: s, at, event, data: jsonText(data) });
            const env = { scope, seq: s, at, event, data };
            envelopes.push(env);
            return env;
          },
          async append(scope, event, data, at = Date.now()) {
            if (!seqs.has(scope)) await out.load(scope);
            return out.give(scope, event, data, at);
          },
        };
        for (const q of queued) {
          if (q.source !== undefined) {
            if (opts.sources && !opts.sources.keep(q.source)) continue;
            sources.push(q.source);
          }
          if (!out.known(q.scope)) await out.load(q.scope);
          out.give(q.scope, q.event, q.data, q.at);
        }
        const r = await fn(trx, out);
        await insertRows(trx, rows);
        if (sources.length && opts.saveSourceCursor) {
          try {
            await opts.saveSourceCursor(trx, sources);
          } catch (err) {
            sinkRefused = true;
            throw err;
          }
        }
        return r;
      });
    } catch (err) {
      if (sinkRefused && requeue) {
        // The queued messages' cursor was refused (their partition moved: fenced), not the caller's
        // work: drop them (the feed delivers their entries again where they belong) and run it alone.
        opts.sources?.failed(sources);
        for (const [scope, s] of before) {
          if (s === undefined) seqs.delete(scope);
          else seqs.set(scope, s);
        }
        return write(fn, requeue);
      }
      if (!requeue) opts.sources?.failed(sources);
      // Rolled back: the sequences given in it were never committed nor emitted. Read the scopes'
      // last sequence again at their next write: another writer of the database (a hub node that
      // owned the estate meanwhile) may have moved it, and a stale one would collide every time.
      for (const scope of before.keys()) seqs.delete(scope);
      // The queued messages it took are not its to lose: the next writer takes them again.
      if (requeue && queued.length) {
        queue = queued.concat(queue);
        schedule();
      }
      throw err;
    }
    if (sources.length) opts.sources?.committed(sources);
    if (envelopes.length) {
      try {
        sink(envelopes);
      } catch (err) {
        log.error({ err }, 'push sink failed');
      }
    }
    return result;
  }

  const pushLog: PushLog = {
    onCommit(s) {
      sink = s;
    },
    append(scope, event, data, at = Date.now(), source) {
      if (closed) return;
      queue.push({ scope, event, data, at, source });
      if (queue.length >= batchRows) void pushLog.flush();
      else schedule();
    },
    transaction: (fn) => locked(() => write(fn, true)),
    exclusive: (fn) => locked(fn),
    flush() {
      return locked(async () => {
        // An earlier writer may have taken everything already.
        if (queue.length === 0) return;
        const rows = queue.length;
        await write(async () => undefined, false).catch((err: unknown) => log.error({ err, rows }, 'push log write failed; these messages were not sent'));
      });
    },
    async after(scope, after, limit) {
      const rows = await db
        .selectFrom('push_log')
        .select(['scope', 'seq', 'at', 'event', 'data'])
        .where('scope', '=', scope)
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(limit + 1)
        .execute();
      if (rows.length > limit) return null;
      return rows.map((r) => ({ scope: r.scope, seq: Number(r.seq), at: Number(r.at), event: r.event, data: JSON.parse(r.data) as unknown }));
    },
    async last(scope) {
      return seqs.get(scope) ?? (await committedMax(db, scope));
    },
    prune(now = Date.now()) {
      return locked(async () => {
        let removed = Number((await db.deleteFrom('push_log').where('at', '<', now - retentionMs).executeTakeFirst()).numDeletedRows);
        const total = await db.selectFrom('push_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        if (Number(total.n) > maxRows) {
          const cutoff = await db.selectFrom('push_log').select('at').orderBy('at', 'desc').limit(1).offset(maxRows - 1).executeTakeFirst();
          if (cutoff) removed += Number((await db.deleteFrom('push_log').where('at', '<', cutoff.at).executeTakeFirst()).numDeletedRows);
        }
        return removed;
      });
    },
    async close() {
      await pushLog.flush();
      closed = true;
      await tail;
    },
  };
  return pushLog;
}
