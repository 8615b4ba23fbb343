import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import { jsonText } from '../../lib/json-text.js';
import type { HubDatabase, Schema } from '../platform/db/index.js';
import { createPushRows, type Row } from './log-rows.js';

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
  /**
   * Queued messages above which the next flush is started at once, and the most one write takes
   * from the queue (the rest go in the next write); default 1,024.
   */
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
  /**
   * Other processes may write this log too (hub cluster nodes on one PostgreSQL): each write takes
   * a transaction-level advisory lock per scope it writes (in key order) and reads the scope's
   * committed maximum under it, instead of trusting a maximum cached in this process. Default: on
   * for PostgreSQL, off for the embedded SQLite (one process writes it).
   */
  sharedWriters?: boolean;
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
   * Committed messages of `scope` with a sequence above `after` (and below `before`, when given),
   * oldest first, at most `limit`. Returns `null` when there are more than `limit` (the client must
   * reload over REST).
   */
  after(scope: string, after: number, limit: number, before?: number): Promise<PushEnvelope[] | null>;
  /** The last committed sequence of `scope` (0 when none). */
  last(scope: string): Promise<number>;
  /** Drop rows past retention or the row cap; returns how many went. */
  prune(now?: number): Promise<number>;
  /** Write what is queued; appends after this are dropped. */
  close(): Promise<void>;
}

type Queued = { scope: string; event: string; data: unknown; at: number; source: number | undefined };

/**
 * The replay log of live push, table `push_log` of the hub database. Each scope (`estate:E`, `user:U`)
 * has its own sequence with no gaps: a sequence is given only inside the transaction that writes the
 * row, writers run one at a time (in this process by a promise chain; across the processes of a hub
 * cluster by a PostgreSQL advisory lock per scope, `sharedWriters`), and the sink (the sockets) only
 * ever sees committed rows. So after
 * a crash or a restart the sequence continues from the committed maximum, and a screen that
 * reconnects with its `since` is replayed every message it missed; a gap it sees is a real loss.
 */
export function createPushLog(hubDb: HubDatabase, log: Logger, opts: PushLogOptions = {}): PushLog {
  const { db } = hubDb;
  const retentionMs = opts.retentionMs ?? 7 * 24 * 3600_000;
  const maxRows = opts.maxRows ?? 2_000_000;
  const batchRows = opts.batchRows ?? 1024;
  const flushMs = opts.flushMs ?? 5;
  const shared = opts.sharedWriters ?? hubDb.dialect === 'postgres';
  const { insertRows, committedMax, insertShared } = createPushRows(hubDb.dialect);
  /** One writer process (SQLite): the last committed sequence per scope; absent = read it from the table. */
  const seqs = new Map<string, number>();
  let sink: (envelopes: readonly PushEnvelope[]) => void = () => undefined;
  let flushing: Promise<void> | undefined;
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
  /**
   * The writer lock: one writer (or exclusive reader) at a time. Outbox transactions and exclusive
   * readers go before queued flushes, in call order among themselves: an alert's transaction waits at
   * most for the write in progress, never behind a backlog of event envelopes (after a take-over in a
   * cluster, thousands arrive at once). Flushes take the queue `batchRows` at a time, so the write in
   * progress is bounded too; a flood of transactions still drains the queue, since each takes a slice.
   */
  const urgent: Array<() => void> = [];
  const routine: Array<() => void> = [];
  let busy = false;
  function pump(): void {
    if (busy) return;
    const next = urgent.shift() ?? routine.shift();
    if (!next) return;
    busy = true;
    next();
  }
  let writing = 0;
  function locked<T>(fn: () => Promise<T>, lane: 'urgent' | 'routine' = 'urgent'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      (lane === 'urgent' ? urgent : routine).push(() => {
        // A writer holding the lock for long holds every alert change and push behind it: say so.
        const id = ++writing;
        const slow = setTimeout(() => log.warn({ writer: id }, 'push log writer holds the lock for more than 10 s'), 10_000);
        slow.unref();
        let run: Promise<T>;
        try {
          run = fn();
        } catch (err) {
          run = Promise.reject(err as Error);
        }
        void run.then(resolve, reject).finally(() => {
          clearTimeout(slow);
          busy = false;
          pump();
        });
      });
      pump();
    });
  }
  /** Resolves once every writer called before it is done. */
  const idle = (): Promise<void> => locked(async () => undefined, 'routine');

  /** One writer process: the last committed sequence of each of `scopes`, from this process's cache or the table. */
  async function lastOf(trx: Transaction<Schema>, scopes: Iterable<string>): Promise<Map<string, number>> {
    const last = new Map<string, number>();
    for (const scope of scopes) last.set(scope, seqs.get(scope) ?? (await committedMax(trx, scope)));
    return last;
  }

  /**
   * One write: the messages (what was queued, then what `fn` appends) get their sequences after
   * `fn`, in append order, are inserted before COMMIT, and reach the sink after it.
   * `requeue`: on a rollback, put the queued messages it took back (an outbox transaction that failed for its own reasons).
   */
  async function write<T>(fn: (trx: Transaction<Schema>, out: PushOutbox) => Promise<T>, requeue: boolean): Promise<T> {
    const envelopes: PushEnvelope[] = [];
    const sources: number[] = [];
    let sinkRefused = false;
    // What was queued before this writer got its turn goes first (up to batchRows; the rest stays
    // queued for the next writer, in order): sequences follow append order.
    const queued = queue.length <= batchRows ? queue : queue.slice(0, batchRows);
    queue = queue.length <= batchRows ? [] : queue.slice(batchRows);
    let given: Map<string, number> | undefined;
    let result: T;
    try {
      result = await hubDb.transaction(async (trx) => {
        for (const q of queued) {
          if (q.source !== undefined) {
            if (opts.sources && !opts.sources.keep(q.source)) continue;
            sources.push(q.source);
          }
          envelopes.push({ scope: q.scope, seq: 0, at: q.at, event: q.event, data: q.data });
        }
        const out: PushOutbox = {
          // The envelope's seq is given when fn is done (before COMMIT): read it after the transaction.
          async append(scope, event, data, at = Date.now()) {
            const env = { scope, seq: 0, at, event, data };
            envelopes.push(env);
            return env;
          },
        };
        const r = await fn(trx, out);
        if (envelopes.length && shared) await insertShared(trx, envelopes);
        else if (envelopes.length) {
          given = await lastOf(trx, new Set(envelopes.map((e) => e.scope)));
          const rows: Row[] = [];
          for (const env of envelopes) {
            env.seq = given.get(env.scope)! + 1;
            given.set(env.scope, env.seq);
            rows.push({ scope: env.scope, seq: env.seq, at: env.at, event: env.event, data: jsonText(env.data) });
          }
          await insertRows(trx, rows);
        }
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
        return write(fn, requeue);
      }
      if (!requeue) opts.sources?.failed(sources);
      // Rolled back: nothing of it was committed nor emitted. Read its scopes' last sequence again at
      // their next write (one writer caches them): a stale one would collide every time.
      for (const env of envelopes) seqs.delete(env.scope);
      // The queued messages it took are not its to lose: the next writer takes them again.
      if (requeue && queued.length) {
        queue = queued.concat(queue);
        schedule();
      }
      throw err;
    }
    if (given && !shared) for (const [scope, s] of given) seqs.set(scope, s);
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
      // One flush at a time writes the queue a slice per turn of the lock until it is empty
      // (appends made meanwhile included); a second caller waits for the same one.
      if (!flushing) {
        const run = (async () => {
          while (queue.length > 0) {
            await locked(async () => {
              // An earlier writer may have taken everything already.
              if (queue.length === 0) return;
              const rows = Math.min(queue.length, batchRows);
              await write(async () => undefined, false).catch((err: unknown) => log.error({ err, rows }, 'push log write failed; these messages were not sent'));
            }, 'routine');
          }
        })();
        flushing = run;
        // Cleared after it is set (a run over an empty queue is already done when it returns).
        void run.finally(() => {
          if (flushing === run) flushing = undefined;
        });
      }
      return flushing;
    },
    async after(scope, after, limit, before) {
      let q = db.selectFrom('push_log').select(['scope', 'seq', 'at', 'event', 'data']).where('scope', '=', scope).where('seq', '>', after);
      if (before !== undefined) q = q.where('seq', '<', before);
      const rows = await q
        .orderBy('seq')
        .limit(limit + 1)
        .execute();
      if (rows.length > limit) return null;
      return rows.map((r) => ({ scope: r.scope, seq: Number(r.seq), at: Number(r.at), event: r.event, data: JSON.parse(r.data) as unknown }));
    },
    async last(scope) {
      return (shared ? undefined : seqs.get(scope)) ?? (await committedMax(db, scope));
    },
    prune(now = Date.now()) {
      return locked(async () => {
        // Each scope keeps its last row: the next sequence is read from the table (always with
        // shared writers, after a restart with one), and must never start again at 1.
        const older = (at: number) =>
          db
            .deleteFrom('push_log')
            .where('at', '<', at)
            .where('seq', '<', (eb) => eb.selectFrom('push_log as p').select((e) => e.fn.max('p.seq').as('m')).whereRef('p.scope', '=', 'push_log.scope'))
            .executeTakeFirst();
        let removed = Number((await older(now - retentionMs)).numDeletedRows);
        const total = await db.selectFrom('push_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        if (Number(total.n) > maxRows) {
          const cutoff = await db.selectFrom('push_log').select('at').orderBy('at', 'desc').limit(1).offset(maxRows - 1).executeTakeFirst();
          if (cutoff) removed += Number((await older(cutoff.at)).numDeletedRows);
        }
        return removed;
      }, 'routine');
    },
    async close() {
      await pushLog.flush();
      closed = true;
      await idle();
    },
  };
  return pushLog;
}
