import type { Logger } from '../lib/log.js';
import type { RbEvent } from '../protocol/index.js';
import type { AppendResult } from './outbox.js';
import { sqliteCode, type OutboxDb, type Totals } from './outbox-sqlite-db.js';

/** On SQLITE_FULL: evict this many oldest routine rows, then twice as many, ... before giving up. */
const FREE_FIRST = 32;
const FREE_ATTEMPTS = 4;

/** An append waiting for the next flush. */
export interface Pending {
  event: RbEvent;
  body: string;
  bytes: number;
  alarm: boolean;
  /** Date.now() at append: the row's appended_at. */
  at: number;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

/**
 * The write side of the SQLite outbox (gateway/outbox-sqlite.ts): the append policy (caps, eviction
 * of the oldest routine events, disk full) and the running totals it decides on. The totals live in
 * memory, loaded once at start, so the cap check and stats() never count rows. Every method runs
 * synchronously against the database it is given.
 */
export class OutboxWriter {
  // Rows in the table, minus acked rows whose DELETE is still deferred (see `acked`).
  rows = 0;
  bytes = 0;
  alarmRows = 0;
  droppedTotal = 0;
  droppedSinceStart = 0;
  /** Alarms the disk had no room for: served by read(), written when space returns, lost on a crash. */
  readonly overflow = new Map<number, Pending>();
  overflowBytes = 0;
  /** Acked seqs whose DELETE waits for the next flush, so a burst of PUBACKs is one transaction. */
  readonly acked = new Set<number>();
  /**
   * alarm/bytes of rows handed to the uplink by read (so its ack needs no SELECT). Bounded by what is
   * in flight; an entry leaves on ack or when its row is evicted.
   */
  readonly handedOut = new Map<number, { alarm: number; bytes: number }>();
  /**
   * Routine rows evicted while the uplink had them (read, not acknowledged): not dropped yet. Its
   * PUBACK may still come (then they arrived); if the uplink reads again from before one of them (its
   * publish failed, the link dropped), it is lost, and counted then (settle).
   */
  readonly evictedInFlight = new Set<number>();
  private droppedPersisted = 0;
  private diskFull = false;

  constructor(
    private readonly caps: { maxRecords: number; maxBytes: number },
    private readonly log: Logger,
  ) {}

  /** Load the totals (one scan of the narrow lane index) and the drop counter; returns the totals. */
  load(d: OutboxDb): Totals {
    const t = d.totals();
    this.acked.clear(); // a DELETE that never ran: those rows are pending again (a re-send is harmless)
    this.rows = t.rows;
    this.bytes = t.bytes;
    this.alarmRows = t.alarms;
    this.droppedTotal = this.droppedPersisted = d.getMeta('dropped_total');
    return t;
  }

  depth(): number {
    return this.rows + this.overflow.size;
  }

  /** The uplink reads again from `after`: evicted in-flight rows past it were not acknowledged, so they are lost. */
  settle(after: number): void {
    for (const s of this.evictedInFlight) {
      if (s > after) {
        this.evictedInFlight.delete(s);
        this.dropped(1);
      }
    }
  }

  /** Take an acked row out of the totals now; its DELETE runs at the next drainAcks(). */
  ack(d: OutboxDb, seq: number): boolean {
    if (this.evictedInFlight.delete(seq)) return false; // evicted while in flight, and it arrived
    const held = this.overflow.get(seq);
    if (held) {
      this.overflow.delete(seq);
      this.overflowBytes -= held.bytes;
      return false;
    }
    if (this.acked.has(seq)) return false;
    const known = this.handedOut.get(seq);
    if (known) this.handedOut.delete(seq);
    const row = known ?? d.lookup(seq);
    if (!row) return false; // unknown, or already evicted: a no-op
    this.acked.add(seq);
    this.rows -= 1;
    this.bytes -= row.bytes;
    if (row.alarm) this.alarmRows -= 1;
    return true;
  }

  drainAcks(d: OutboxDb): void {
    if (this.acked.size === 0) return;
    try {
      // PUBACKs come back mostly in seq order, so the acked seqs form a few contiguous runs: one
      // range DELETE per run instead of one per event.
      const seqs = [...this.acked].sort((a, b) => a - b);
      d.tx(() => {
        let from = seqs[0]!;
        let to = from;
        for (let i = 1; i <= seqs.length; i++) {
          const s = seqs[i];
          if (s === to + 1) {
            to = s;
            continue;
          }
          if (from === to) d.deleteSeq(from);
          else d.deleteRange(from, to);
          if (s !== undefined) from = to = s;
        }
      });
      this.acked.clear();
    } catch (err) {
      // Kept for the next flush; read() skips them meanwhile. Re-sending one is harmless (dedup by id).
      this.log.warn({ err, pending: this.acked.size }, 'outbox: could not delete acked events yet');
    }
  }

  /** Write one flush's appends and settle their promises. Order within the batch is append order. */
  write(d: OutboxDb, batch: readonly Pending[]): void {
    this.drainAcks(d); // first, so eviction never picks a row that is already acked
    if (this.overflow.size > 0) this.drainOverflow(d);
    if (batch.length === 0) return;
    if (!this.diskFull) {
      try {
        const results = this.commit(d, () => batch.map((p) => this.place(d, p)));
        batch.forEach((p, i) => p.resolve(results[i] as AppendResult));
        return;
      } catch {
        // Rolled back (disk full, a duplicate, ...): redo one event at a time, each with its own answer.
      }
    }
    for (const p of batch) {
      try {
        p.resolve(this.appendOne(d, p));
      } catch (err) {
        p.reject(err);
      }
    }
  }

  /** Write overflow alarms (lowest seq first) while there is room; stop at the first that does not fit. */
  drainOverflow(d: OutboxDb): void {
    for (const p of [...this.overflow.values()].sort((a, b) => a.event.seq - b.event.seq)) {
      this.overflow.delete(p.event.seq); // out of the totals while place() counts it in
      this.overflowBytes -= p.bytes;
      if (!this.storeOne(d, p)) {
        this.overflow.set(p.event.seq, p);
        this.overflowBytes += p.bytes;
        return;
      }
    }
    this.noteRecovered();
  }

  private over(extra: number): boolean {
    return this.depth() + 1 > this.caps.maxRecords || this.bytes + this.overflowBytes + extra > this.caps.maxBytes;
  }

  private dropped(n: number): void {
    this.droppedTotal += n;
    this.droppedSinceStart += n;
  }

  /** Inside a transaction: delete up to n oldest routine rows, count them as dropped. */
  private evict(d: OutboxDb, n: number): number {
    let count = 0;
    for (const [s, b] of d.evictOldestRoutine(n)) {
      const inFlight = this.handedOut.delete(s);
      if (this.acked.delete(s)) continue; // left the totals when it was acked
      this.rows -= 1;
      this.bytes -= b;
      if (inFlight) this.evictedInFlight.add(s);
      else count += 1;
    }
    this.dropped(count);
    return count;
  }

  /** Inside a transaction: make room under the caps, then insert. The whole append policy. */
  private place(d: OutboxDb, p: Pending): AppendResult {
    let evicted = 0;
    while (this.over(p.bytes) && this.rows > this.alarmRows) evicted += this.evict(d, 1);
    if (!p.alarm && this.over(p.bytes)) {
      this.dropped(1);
      return { stored: false, reason: 'full' };
    }
    const e = p.event;
    d.insert({ seq: e.seq, id: e.id, device: e.device, alarm: p.alarm ? 1 : 0, bytes: p.bytes, appendedAt: p.at, body: p.body });
    this.rows += 1;
    this.bytes += p.bytes;
    if (p.alarm) this.alarmRows += 1;
    return { stored: true, evicted };
  }

  /** Run `fn` in a transaction that also persists the drop counter; on error undo the totals too. */
  private commit<T>(d: OutboxDb, fn: () => T): T {
    const before = [this.rows, this.bytes, this.alarmRows, this.droppedTotal, this.droppedSinceStart] as const;
    try {
      const out = d.tx(() => {
        const r = fn();
        if (this.droppedTotal !== this.droppedPersisted) d.setMeta('dropped_total', this.droppedTotal);
        return r;
      });
      this.droppedPersisted = this.droppedTotal;
      return out;
    } catch (err) {
      [this.rows, this.bytes, this.alarmRows, this.droppedTotal, this.droppedSinceStart] = before;
      throw err;
    }
  }

  /**
   * Store one event, evicting more and more oldest routine rows while SQLite says the disk is full.
   * Returns undefined if it still does not fit; throws errors other than a full disk.
   */
  private storeOne(d: OutboxDb, p: Pending): AppendResult | undefined {
    let freed = 0;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const r = this.commit(d, () => this.place(d, p));
        return r.stored ? { stored: true, evicted: r.evicted + freed } : r;
      } catch (err) {
        const code = sqliteCode(err);
        // The same event appended twice (a device re-post with a stable id): it is kept already.
        if (code?.startsWith('SQLITE_CONSTRAINT') && d.hasId(p.event.id)) return { stored: true, evicted: freed };
        if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
          throw new Error(`outbox already holds seq ${p.event.seq}; take seqs from nextSeq()`, { cause: err });
        }
        if (code !== 'SQLITE_FULL') throw err;
        if (attempt === FREE_ATTEMPTS) return undefined;
        // Deleting a few rows may not empty a whole page for the new row to use: ask for more each time.
        let n = 0;
        try {
          n = this.commit(d, () => this.evict(d, FREE_FIRST << attempt));
        } catch (evictErr) {
          if (sqliteCode(evictErr) !== 'SQLITE_FULL') throw evictErr;
        }
        if (n === 0) return undefined;
        freed += n;
      }
    }
  }

  private appendOne(d: OutboxDb, p: Pending): AppendResult {
    // Alarms held in memory have the disk's space first; a routine event does not overtake them.
    const r = this.overflow.size === 0 ? this.storeOne(d, p) : undefined;
    if (r) {
      if (r.stored) this.noteRecovered();
      return r;
    }
    this.noteDiskFull();
    if (p.alarm) {
      this.overflow.set(p.event.seq, p);
      this.overflowBytes += p.bytes;
      return { stored: true, evicted: 0 };
    }
    this.dropped(1);
    try {
      d.setMeta('dropped_total', this.droppedTotal);
      this.droppedPersisted = this.droppedTotal;
    } catch {
      // Best effort: the next successful commit writes the counter.
    }
    return { stored: false, reason: 'disk-full' };
  }

  private noteDiskFull(): void {
    if (this.diskFull) return;
    this.diskFull = true; // logged once per episode, not once per event
    this.log.error({ depth: this.depth(), overflow: this.overflow.size }, 'outbox: disk full; alarms kept in memory, routine events refused');
  }

  private noteRecovered(): void {
    if (!this.diskFull || this.overflow.size > 0) return;
    this.diskFull = false;
    this.log.info({ depth: this.depth() }, 'outbox: disk space is back');
  }
}
