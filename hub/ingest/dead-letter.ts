import { isUtf8 } from 'node:buffer';
import type { Logger } from 'pino';
import type { HubDatabase } from '../platform/db/index.js';
import type { DeadLetterTable } from '../platform/db/schema.js';

const CHUNK = 250;

type DeadLetterRow = { [K in keyof DeadLetterTable]: K extends 'id' ? number : DeadLetterTable[K] };

export interface DeadLetterInput {
  estate: string;
  gateway: string;
  topic: string;
  reason: string;
  message: string;
  payload: Buffer;
}

export interface DeadLetter {
  id: number;
  receivedAt: number;
  estate: string;
  gateway: string;
  topic: string;
  reason: string;
  message: string;
  /** The first `maxPayloadBytes` bytes, as text when they are UTF-8, else base64. */
  payload: string;
  encoding: 'utf8' | 'base64';
  /** Size of the whole payload; more than the stored bytes when truncated. */
  bytes: number;
  truncated: boolean;
}

export interface DeadLetters {
  /** Queue a poison message; written in the background. Never throws, never waits. */
  record(entry: DeadLetterInput): void;
  /** Newest first. */
  list(query?: { limit?: number; reason?: string }): Promise<DeadLetter[]>;
  count(): Promise<number>;
  /** Resolves once everything queued before the call is written (tests, the REST read, shutdown). */
  flush(): Promise<void>;
  /** Write what is queued, then refuse (silently) what comes after. The database is the caller's to close. */
  close(): Promise<void>;
}

export interface DeadLetterOptions {
  /** The hub database (hub/platform/db): table `dead_letters`. */
  db: HubDatabase;
  /** Rows kept; the oldest are pruned past this (default 10,000). */
  maxRows?: number;
  /** Payload bytes kept per message (default 4 KiB). */
  maxPayloadBytes?: number;
  /** Messages waiting for a write; past this they are counted, not kept (default 5,000). */
  maxQueued?: number;
  log?: Logger;
  /** Called with the number of entries lost (queue full or write failed). */
  onLost?: (n: number) => void;
}

/** The first `n` UTF-16 units of `s`, one fewer when the cut would leave half a surrogate pair (which neither engine can store as text). */
function cut(s: string, n: number): string {
  const head = s.slice(0, n);
  return /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head;
}

/** Keep the first `max` bytes of `payload` as text when that is valid UTF-8 (not cutting a character), else base64. */
export function encodePayload(payload: Buffer, max: number): { text: string; encoding: 'utf8' | 'base64' } {
  const head = payload.subarray(0, max);
  if (payload.length <= max) {
    return isUtf8(head) ? { text: head.toString('utf8'), encoding: 'utf8' } : { text: head.toString('base64'), encoding: 'base64' };
  }
  for (let cut = 0; cut <= 3 && cut < head.length; cut++) {
    const part = head.subarray(0, head.length - cut);
    if (isUtf8(part)) return { text: part.toString('utf8'), encoding: 'utf8' };
  }
  return { text: head.toString('base64'), encoding: 'base64' };
}

/**
 * Poison messages (valid MQTT from an authenticated gateway that ingest cannot use) with their
 * reason, in table `dead_letters` of the hub database. `record` only queues: a flood of poison
 * must never hold ingest back, and one multi-row insert per event-loop turn (at most CHUNK rows a
 * statement) writes the queue, one write at a time, in order; the table is pruned to `maxRows`
 * (newest kept) in the same transaction.
 */
export function createDeadLetters(opts: DeadLetterOptions): DeadLetters {
  const maxRows = opts.maxRows ?? 10_000;
  const maxPayloadBytes = opts.maxPayloadBytes ?? 4096;
  const maxQueued = opts.maxQueued ?? 5_000;
  const hubDb = opts.db;
  const { db } = hubDb;

  type Queued = Omit<DeadLetterRow, 'id'>;
  const queue: Queued[] = [];
  /** The write in flight (or the last one): each write starts after the previous, so rows keep their order. */
  let writing: Promise<void> = Promise.resolve();
  let scheduled: NodeJS.Immediate | undefined;
  let closed = false;

  async function writeRows(rows: Queued[]): Promise<void> {
    try {
      await hubDb.transaction(async (trx) => {
        const ids = await trx.insertInto('dead_letters').values(rows).returning('id').execute();
        const last = Math.max(...ids.map((r) => Number(r.id)));
        if (last > maxRows) await trx.deleteFrom('dead_letters').where('id', '<=', last - maxRows).execute();
      });
    } catch (err) {
      opts.log?.error({ err, lost: rows.length }, 'dead-letter write failed; entries lost');
      opts.onLost?.(rows.length);
    }
  }

  /** Chain writes of everything queued now, CHUNK rows a statement (bound parameters stay far below either engine's limit). */
  function drain(): Promise<void> {
    scheduled = undefined;
    while (queue.length > 0) {
      const rows = queue.splice(0, CHUNK);
      writing = writing.then(() => writeRows(rows));
    }
    return writing;
  }

  return {
    record(entry) {
      try {
        if (closed) return;
        if (queue.length >= maxQueued) {
          opts.onLost?.(1);
          return;
        }
        const { text, encoding } = encodePayload(entry.payload, maxPayloadBytes);
        queue.push({
          received_at: Date.now(),
          estate: entry.estate,
          gateway: entry.gateway,
          topic: cut(entry.topic, 512),
          reason: cut(entry.reason, 64),
          message: cut(entry.message, 1000),
          payload: text,
          encoding,
          bytes: entry.payload.length,
        });
        scheduled ??= setImmediate(() => void drain());
      } catch (err) {
        opts.log?.error({ err }, 'dead-letter record failed');
      }
    },
    async list(query = {}) {
      const limit = Math.max(1, Math.min(query.limit ?? 100, 1000));
      let select = db.selectFrom('dead_letters').selectAll();
      if (query.reason !== undefined) select = select.where('reason', '=', query.reason);
      const rows = await select.orderBy('id', 'desc').limit(limit).execute();
      return rows.map((r) => ({
        id: Number(r.id),
        receivedAt: r.received_at,
        estate: r.estate,
        gateway: r.gateway,
        topic: r.topic,
        reason: r.reason,
        message: r.message,
        payload: r.payload,
        encoding: r.encoding,
        bytes: r.bytes,
        truncated: r.bytes > (r.encoding === 'utf8' ? Buffer.byteLength(r.payload) : Buffer.from(r.payload, 'base64').length),
      }));
    },
    async count() {
      const { n } = await db.selectFrom('dead_letters').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
      return Number(n); // PostgreSQL's count() is a BIGINT
    },
    flush() {
      if (scheduled) clearImmediate(scheduled);
      return drain();
    },
    async close() {
      if (closed) return;
      if (scheduled) clearImmediate(scheduled);
      await drain();
      closed = true;
    },
  };
}
