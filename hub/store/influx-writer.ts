import type { SpooledRow, SpoolPoint } from './influx-spool.js';
import type { WriterOptions, WriterStats } from './influx-writer-types.js';

export type { WriterOptions, WriterStats } from './influx-writer-types.js';

interface Batch {
  points: SpoolPoint[];
  resolve(): void;
  reject(err: Error): void;
  done: Promise<void>;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => undefined); // callers attach their own handlers
  return { points: [], done, resolve, reject };
}

type Delivery = { ok: true; dead: number } | { ok: false; message: string };

/**
 * Batches points to InfluxDB with at most `maxInFlight` requests open; every point is either
 * written, spooled (durable on disk, replayed later in spool order) or dead-lettered. `submit`
 * resolves once the points are durable: written, or spooled while InfluxDB is slow or down (at
 * most spoolAfterMs). While anything is spooled, new points are spooled too, so the replay is the
 * single path to InfluxDB until the spool is empty again. The hub submits from the event log
 * (hub/store/influx-sink.ts), which is the journal: a point submitted is already durable there.
 */
export class InfluxWriter {
  private readonly o: WriterOptions;
  private current: Batch | undefined;
  private readonly queue: Batch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly sends = new Set<Promise<void>>();
  /** Batches queued or in flight whose callers are not released yet. */
  private readonly open = new Set<Promise<void>>();
  private degraded = false;
  private replaying: Promise<void> | undefined;
  private replayRunning = false;
  private stopping = false;
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  private readonly s = { spooled: 0, replayed: 0, written: 0, deadLettered: 0, batches: 0, retries: 0, bisections: 0 };
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;

  constructor(opts: WriterOptions) {
    this.o = opts;
    // A data dir of an older release may hold its write-ahead journal: acknowledged points that may
    // not have been written. They go to the spool first.
    const recovered = opts.spool.recoverJournal();
    if (recovered > 0) {
      this.s.spooled += recovered;
      opts.log.warn({ points: recovered }, 'influx journal of a previous run moved to the spool; replaying');
    }
    // Points left from a previous run are replayed before anything goes direct.
    if (opts.spool.depth() > 0) {
      this.degraded = true;
      this.kickReplay();
    }
  }

  submit(points: readonly SpoolPoint[]): Promise<void> {
    if (this.stopping) return Promise.reject(new Error('influx writer is stopped'));
    if (points.length === 0) return Promise.resolve();
    if (this.degraded || this.o.spool.depth() > 0) {
      try {
        this.toSpool(points);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      return Promise.resolve();
    }
    const joined = new Set<Promise<void>>();
    for (const p of points) {
      this.current ??= newBatch();
      joined.add(this.current.done);
      this.current.points.push(p);
      if (this.current.points.length >= this.o.batchSize) this.cut();
    }
    // linger: every batch fills for up to flushMs (fewer, larger writes: InfluxDB's cost per point
    // falls with the batch). Else idle: send at the next turn (low latency at low rates); busy: let
    // the batch fill while the requests in flight finish, up to flushMs; a request that ends sends
    // it earlier (pump()).
    if (this.current && !this.timer) this.timer = setTimeout(() => this.cut(), this.inFlight === 0 && !this.o.linger ? 0 : this.o.flushMs);
    this.pump();
    return Promise.all(joined).then(() => undefined);
  }

  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.current;
    this.current = undefined;
    if (batch?.points.length) {
      this.open.add(batch.done);
      void batch.done.finally(() => this.open.delete(batch.done)).catch(() => undefined);
      // More waiting than a few rounds of requests: InfluxDB is not keeping up; spool instead of
      // holding the callers (and the memory) until it does.
      if (this.queue.length >= 4 * this.o.maxInFlight) this.spoolBatch(batch, 'write queue full');
      else this.queue.push(batch);
    }
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.o.maxInFlight && this.queue.length > 0) this.track(this.send(this.queue.shift()!));
    if (!this.o.linger && this.inFlight === 0 && this.queue.length === 0 && this.current && this.timer) this.cut();
  }

  private track(p: Promise<void>): void {
    this.sends.add(p);
    void p.finally(() => this.sends.delete(p));
  }

  private async send(batch: Batch): Promise<void> {
    this.inFlight += 1;
    let released = false;
    const release = (outcome: Delivery): void => {
      if (released) return;
      released = true;
      if (outcome.ok) {
        this.s.written += batch.points.length - outcome.dead;
        this.o.onWritten?.(batch.points, Date.now());
        return batch.resolve();
      }
      this.spoolBatch(batch, outcome.message);
    };
    // A slow InfluxDB must not hold ingest: spool the batch, release its callers. If the request
    // then succeeds the replay rewrites the same points, which InfluxDB keys by time: no duplicate.
    const slow = setTimeout(() => release({ ok: false, message: `no answer within ${this.o.spoolAfterMs} ms` }), this.o.spoolAfterMs);
    try {
      release(await this.deliver(batch.points));
    } catch (err) {
      release({ ok: false, message: (err as Error).message });
    } finally {
      clearTimeout(slow);
      this.inFlight -= 1;
      this.pump();
    }
  }

  /** Write points; on a 400/413 split them until each refused point is alone, and dead-letter it. */
  private async deliver(points: readonly SpoolPoint[]): Promise<Delivery> {
    const res = await this.o.http.write(points.map((p) => p.line).join('\n'), this.o.rp, this.abort.signal);
    if (res.kind === 'ok') {
      this.s.batches += 1;
      return { ok: true, dead: 0 };
    }
    if (res.kind === 'transient') return { ok: false, message: res.message };
    if (points.length === 1) {
      this.deadLetter(points[0]!, res.message);
      return { ok: true, dead: 1 };
    }
    // InfluxDB wrote the good points of a partial write already; writing them again is harmless.
    this.s.bisections += 1;
    const mid = Math.ceil(points.length / 2);
    const left = await this.deliver(points.slice(0, mid));
    if (!left.ok) return left;
    const right = await this.deliver(points.slice(mid));
    return right.ok ? { ok: true, dead: left.dead + right.dead } : right;
  }

  deadLetter(point: SpoolPoint, reason: string): void {
    this.o.spool.deadLetter(point, reason);
    this.s.deadLettered += 1;
    this.o.log.warn({ id: point.id, reason }, 'influx point dead-lettered');
  }

  private spoolBatch(batch: Batch, reason: string): void {
    this.failed(reason);
    try {
      this.toSpool(batch.points);
      batch.resolve();
    } catch (err) {
      // The caller keeps the points (the hub: in the event log, delivered again) and retries.
      batch.reject(new Error(`InfluxDB write to ${this.o.http.target} failed (${reason}) and spooling failed: ${(err as Error).message}`));
    }
  }

  private toSpool(points: readonly SpoolPoint[]): void {
    this.o.spool.append(points);
    this.s.spooled += points.length;
    if (!this.degraded) {
      this.degraded = true;
      // Keep one path to InfluxDB while degraded: what waits for a slot goes to the spool as well.
      const waiting = [...this.queue.splice(0), ...(this.current ? [this.current] : [])];
      this.current = undefined;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      for (const b of waiting) {
        try {
          this.o.spool.append(b.points);
          this.s.spooled += b.points.length;
          b.resolve();
        } catch (err) {
          b.reject(err as Error);
        }
      }
    }
    this.kickReplay();
  }

  private failed(message: string): void {
    this.s.retries += 1;
    if (this.lastError !== message) this.o.log.warn({ target: this.o.http.target, err: message }, 'influx write failed; spooling');
    this.lastError = message;
    this.lastErrorAt = Date.now();
  }

  /** Start the replayer unless it runs. New spool rows do not wake it from a backoff sleep. */
  private kickReplay(): void {
    if (this.replayRunning || this.stopping) return;
    this.replayRunning = true;
    this.replaying = this.replay().catch((err: unknown) => {
      this.replayRunning = false;
      this.o.log.error({ err }, 'influx spool replay failed; it restarts with the next spooled point');
    });
  }

  /** Drain the spool in seq order, `maxInFlight` batches at a time; back off with jitter on failure. */
  private async replay(): Promise<void> {
    let failures = 0;
    // Cleared synchronously with the loop's last check: a point spooled right after starts a new loop.
    for (;;) {
      if (this.stopping) return void (this.replayRunning = false);
      if (this.o.spool.depth() === 0) {
        if (this.degraded) this.o.log.info({ replayed: this.s.replayed }, 'influx spool drained; writing directly again');
        this.degraded = false;
        this.replayRunning = false;
        return;
      }
      // After a failure probe with one batch, not maxInFlight of them.
      const slots = failures > 0 ? 1 : this.o.maxInFlight;
      const batches: SpooledRow[][] = [];
      let after = 0;
      for (let i = 0; i < slots; i++) {
        const rows = this.o.spool.peek(after, this.o.batchSize);
        if (rows.length === 0) break;
        batches.push(rows);
        after = rows[rows.length - 1]!.seq;
      }
      const results = await Promise.all(
        batches.map((rows) => this.deliver(rows).catch((err: unknown): Delivery => ({ ok: false, message: (err as Error).message }))),
      );
      let failure: string | undefined;
      results.forEach((r, i) => {
        const rows = batches[i]!;
        if (r.ok) {
          this.o.spool.remove(rows[0]!.seq, rows[rows.length - 1]!.seq);
          this.s.replayed += rows.length - r.dead;
        } else failure = r.message;
      });
      if (failure === undefined) {
        failures = 0;
        continue;
      }
      this.failed(failure);
      failures += 1;
      const cap = Math.min(this.o.backoffMaxMs, this.o.backoffMinMs * 2 ** Math.min(failures - 1, 20));
      await this.sleep(cap / 2 + Math.random() * (cap / 2)); // "equal jitter": never 0, never in lockstep
    }
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
  }

  /**
   * Send what is batched and wait until every caller is released (written or spooled: at most
   * spoolAfterMs for a hung InfluxDB), then abort what is still open and stop the replay. What is
   * left in the spool is replayed by the next start.
   */
  async stop(): Promise<void> {
    this.cut();
    while (this.open.size > 0) await Promise.allSettled([...this.open]);
    this.stopping = true;
    this.abort.abort();
    this.wake?.();
    await Promise.allSettled([...this.sends]);
    await this.replaying;
  }

  /**
   * Resolves once every point submitted so far is written or spooled (at most spoolAfterMs for a
   * hung InfluxDB). Queries wait for it, so an acknowledged event is visible to the next read
   * unless InfluxDB is down (spooled points are not visible until replayed).
   */
  async settled(): Promise<void> {
    if (!this.current && this.open.size === 0) return;
    this.cut();
    await Promise.allSettled([...this.open]);
  }

  /** Resolves once the spool is empty and nothing is in flight (tests, shutdown drains). */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.o.spool.depth() > 0 || this.degraded || this.inFlight > 0 || this.current || this.queue.length) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  stats(): WriterStats {
    return {
      mode: this.degraded ? 'spool' : 'direct',
      spoolDepth: this.o.spool.depth(),
      deadLetterTotal: this.o.spool.deadLetters(),
      inFlight: this.inFlight,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      ...this.s,
    };
  }
}
