import { isUtf8 } from 'node:buffer';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';

const CHUNK = 250;

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
  list(query?: { limit?: number; reason?: string }): DeadLetter[];
  count(): number;
  /** Write what is queued now (tests, shutdown). */
  flush(): void;
  close(): void;
}

export interface DeadLetterOptions {
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
 * reason, in `{dataDir}/dead-letters.db`, apart from the registry and the event store so a flood
 * never contends with them. `record` only queues; one transaction per event-loop turn writes the
 * queue, and the table is pruned to `maxRows` (newest kept).
 */
export function openDeadLetters(dataDir: string, opts: DeadLetterOptions = {}): DeadLetters {
  const maxRows = opts.maxRows ?? 10_000;
  const maxPayloadBytes = opts.maxPayloadBytes ?? 4096;
  const maxQueued = opts.maxQueued ?? 5_000;
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'dead-letters.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 1000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS dead_letters (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      received_at INTEGER NOT NULL,
      estate TEXT NOT NULL,
      gateway TEXT NOT NULL,
      topic TEXT NOT NULL,
      reason TEXT NOT NULL,
      message TEXT NOT NULL,
      payload TEXT NOT NULL,
      encoding TEXT NOT NULL,
      bytes INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS dead_letters_reason ON dead_letters(reason, id);
  `);
  const insert = db.prepare(
    `INSERT INTO dead_letters (received_at, estate, gateway, topic, reason, message, payload, encoding, bytes)
     VALUES (@receivedAt, @estate, @gateway, @topic, @reason, @message, @payload, @encoding, @bytes)`,
  );
  const prune = db.prepare('DELETE FROM dead_letters WHERE id <= ?');
  type Row = { id: number; received_at: number; estate: string; gateway: string; topic: string; reason: string; message: string; payload: string; encoding: 'utf8' | 'base64'; bytes: number };
  const newest = db.prepare<[number], Row>('SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?');
  const newestOf = db.prepare<[string, number], Row>('SELECT * FROM dead_letters WHERE reason = ? ORDER BY id DESC LIMIT ?');
  const countRows = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM dead_letters');

  type Queued = Omit<DeadLetter, 'id' | 'truncated' | 'payload'> & { payload: string };
  const queue: Queued[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  let closed = false;

  const writeAll = db.transaction((rows: Queued[]) => {
    let last = 0;
    for (const r of rows) last = Number(insert.run(r).lastInsertRowid);
    if (last > maxRows) prune.run(last - maxRows);
  });

  /** Write up to `max` queued entries in one transaction; chunks keep a flood from holding the event loop. */
  function writeQueued(max: number): void {
    if (queue.length === 0 || closed) return;
    const rows = queue.splice(0, max);
    try {
      writeAll(rows);
    } catch (err) {
      opts.log?.error({ err, lost: rows.length }, 'dead-letter write failed; entries lost');
      opts.onLost?.(rows.length);
    }
  }

  function background(): void {
    scheduled = undefined;
    writeQueued(CHUNK);
    if (queue.length > 0 && !closed) scheduled = setImmediate(background);
  }

  function flush(): void {
    writeQueued(Number.MAX_SAFE_INTEGER);
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
          receivedAt: Date.now(),
          estate: entry.estate,
          gateway: entry.gateway,
          topic: entry.topic.slice(0, 512),
          reason: entry.reason.slice(0, 64),
          message: entry.message.slice(0, 1000),
          payload: text,
          encoding,
          bytes: entry.payload.length,
        });
        scheduled ??= setImmediate(background);
      } catch (err) {
        opts.log?.error({ err }, 'dead-letter record failed');
      }
    },
    list(query = {}) {
      const limit = Math.max(1, Math.min(query.limit ?? 100, 1000));
      const rows = query.reason === undefined ? newest.all(limit) : newestOf.all(query.reason, limit);
      return rows.map((r) => ({
        id: r.id,
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
    count: () => countRows.get()!.n,
    flush,
    close() {
      if (closed) return;
      if (scheduled) clearImmediate(scheduled);
      flush();
      closed = true;
      db.close();
    },
  };
}
