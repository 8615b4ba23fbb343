import type { Logger } from '../lib/log.js';
import { isAlarmEvent, type RbEvent } from '../protocol/index.js';
import type { AppendResult, Outbox, OutboxRecord, OutboxStats } from './outbox.js';
import { openOutboxDb, type OutboxDb } from './outbox-sqlite-db.js';
import { OutboxWriter, type Pending } from './outbox-sqlite-writer.js';

export interface SqliteOutboxOptions {
  /** Database file; its folder is created if missing. */
  file: string;
  log: Logger;
  /** Cap on pending events; default 1,000,000. Alarms may exceed it. */
  maxRecords?: number;
  /** Cap on the JSON bytes of pending events (not the file size); default 512 MiB. Alarms may exceed it. */
  maxBytes?: number;
  /**
   * 'normal' (default): a resolved append survives the process being killed, not a power cut.
   * 'full': it survives a power cut too, at one fsync per commit (see outbox-sqlite-db.ts).
   */
  synchronous?: 'normal' | 'full';
  /** Test hook: SQLite PRAGMA max_page_count, to make a real SQLITE_FULL. */
  maxPageCount?: number;
}

/**
 * nextSeq() persists a high-water mark once per this many seqs instead of once per call; after a
 * restart numbering resumes above the mark, so a crash skips at most this many seqs (harmless: seqs
 * order events, they need not be dense) and never repeats one.
 */
const SEQ_BLOCK = 1000;

/**
 * The durable outbox: one SQLite file (WAL) in the gateway's data dir; the contract is in
 * gateway/outbox.ts, the append policy in outbox-sqlite-writer.ts.
 *
 * `append` queues the event and resolves once a flush has committed it. The flush runs on the next
 * event-loop turn (setImmediate), so every append made during one turn - the pushes of all devices
 * whose requests arrived together - shares one transaction: one commit, and with 'full' one fsync,
 * instead of one per event. A caller that awaits each append alone pays a commit per event.
 */
export function createSqliteOutbox(opts: SqliteOutboxOptions): Outbox {
  const log = opts.log.child({ module: 'gateway.outbox' });
  const maxRecords = opts.maxRecords ?? 1_000_000;
  const maxBytes = opts.maxBytes ?? 512 * 1024 * 1024;
  const w = new OutboxWriter({ maxRecords, maxBytes }, log);
  let db: OutboxDb | undefined;
  let seq = 0; // highest seq handed out or appended
  let reserved = 0; // highest seq persisted as possibly handed out
  let queue: Pending[] = [];
  let timer: NodeJS.Immediate | undefined;

  function flush(): void {
    timer = undefined;
    const batch = queue;
    queue = [];
    if (!db) {
      for (const p of batch) p.reject(new Error('sqlite outbox stopped before the event was written'));
      return;
    }
    w.write(db, batch);
  }

  function schedule(): void {
    timer ??= setImmediate(flush);
  }

  function reserve(d: OutboxDb, upTo: number): void {
    try {
      d.setMeta('seq_reserved', upTo);
      reserved = upTo;
    } catch (err) {
      // Not fatal: `reserved` stays behind, so the next call tries again. A seq handed out meanwhile
      // could repeat after a crash only if it was never appended (an appended one is max(seq)).
      log.error({ err, seq }, 'outbox: could not persist the seq high-water mark');
    }
  }

  return {
    async start() {
      if (db) return;
      const d = openOutboxDb({ file: opts.file, synchronous: opts.synchronous ?? 'normal', maxPageCount: opts.maxPageCount }, log);
      const { maxSeq } = w.load(d);
      reserved = d.getMeta('seq_reserved');
      seq = Math.max(seq, reserved, maxSeq);
      db = d;
      if (w.overflow.size > 0) schedule(); // alarms held in memory across a stop/start of this object
      log.info({ file: opts.file, depth: w.rows, alarms: w.alarmRows, bytes: w.bytes, seq }, 'outbox started');
    },

    async stop() {
      if (!db) return;
      if (timer) clearImmediate(timer);
      flush(); // commits what was appended this turn, deletes what was acked
      if (w.overflow.size > 0) {
        log.error({ alarms: w.overflow.size }, 'outbox: stopping with alarms the full disk could not take; they are in memory only');
      }
      db.close();
      db = undefined;
    },

    nextSeq() {
      if (!db) throw new Error('sqlite outbox is not started');
      seq += 1;
      if (seq > reserved) reserve(db, seq + SEQ_BLOCK - 1);
      return seq;
    },

    append(event) {
      if (!db) return Promise.reject(new Error('sqlite outbox is not started'));
      if (!Number.isSafeInteger(event.seq) || event.seq < 0) return Promise.reject(new RangeError(`bad seq ${event.seq}`));
      // A seq that did not come from nextSeq() still moves the mark; its row keeps max(seq) above it.
      if (event.seq > seq) seq = event.seq;
      return new Promise<AppendResult>((resolve, reject) => {
        const body = JSON.stringify(event);
        queue.push({ event, body, bytes: Buffer.byteLength(body), alarm: isAlarmEvent(event), at: Date.now(), resolve, reject });
        schedule();
      });
    },

    readRecords(cursor, limit) {
      if (!db || limit <= 0) return [];
      // Acked rows not yet deleted (the DELETE runs with the next flush, in one transaction for the
      // whole turn) are filtered out here rather than deleted now: the uplink reads after every
      // burst of PUBACKs, and a commit per read would cost more than the read.
      w.settle(cursor.routine);
      const { acked, overflow } = w;
      const skip = acked.size;
      let alarms = db.readLane(1, cursor.alarm, limit + skip).filter(([s]) => !acked.has(s));
      if (overflow.size > 0) {
        const held = [...overflow.values()]
          .filter((p) => p.event.seq > cursor.alarm)
          .map((p): [number, string, string, number] => [p.event.seq, p.event.device, p.body, -1]);
        alarms = [...alarms, ...held].sort((a, b) => a[0] - b[0]);
      }
      alarms = alarms.slice(0, limit);
      const routine =
        alarms.length < limit ? db.readLane(0, cursor.routine, limit - alarms.length + skip).filter(([s]) => !acked.has(s)) : [];
      const out: OutboxRecord[] = [];
      const handOut = (seq: number, device: string, body: string, bytes: number, alarm: boolean) => {
        out.push({ seq, device, alarm, body });
        if (bytes >= 0) w.handedOut.set(seq, { alarm: alarm ? 1 : 0, bytes }); // -1: held in memory, not a row
      };
      for (const [seq, device, body, bytes] of alarms) handOut(seq, device, body, bytes, true);
      for (const [seq, device, body, bytes] of routine) if (out.length < limit) handOut(seq, device, body, bytes, false);
      return out;
    },

    read(cursor, limit) {
      return this.readRecords(cursor, limit).map((r) => JSON.parse(r.body) as RbEvent);
    },

    ack(s) {
      if (!db) return;
      // The DELETE is deferred to the next flush, which also retries alarms held in memory now that
      // a row frees space.
      if (w.ack(db, s) || w.overflow.size > 0) schedule();
    },

    stats(): OutboxStats {
      let oldest: number | null = null;
      if (db) {
        w.drainAcks(db);
        for (const at of [db.firstAppendedAt(1), db.firstAppendedAt(0), ...[...w.overflow.values()].map((p) => p.at)]) {
          if (at !== undefined && (oldest === null || at < oldest)) oldest = at;
        }
      }
      return {
        depth: w.depth(),
        alarms: w.alarmRows + w.overflow.size,
        bytes: w.bytes + w.overflowBytes,
        oldestAppendedAt: oldest,
        droppedTotal: w.droppedTotal,
        droppedSinceStart: w.droppedSinceStart,
        maxRecords,
        maxBytes,
      };
    },
  };
}
