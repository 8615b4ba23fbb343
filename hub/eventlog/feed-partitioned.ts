import type { Logger } from 'pino';
import type { Transaction } from 'kysely';
import type { Bus } from '../bus.js';
import { FencedError, type LossReason, type Ownership } from '../cluster/leases.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { Schema } from '../platform/db/schema.js';
import { BUS_NAME, callListeners, logBus, type LogListener } from './feed-kinds.js';
import type { ConsumerCheckpoint, ConsumerOptions, LogFeed, PartitionHooks } from './feed.js';
import type { DeliveredKind, EventLog, LogEntry, LogEntryInput } from './log.js';
import { PARTITION_COUNT } from '../cluster/partition.js';
import { createPartitionReader } from './partition-reader.js';

type Listener = LogListener;

interface Consumer {
  name: string;
  listeners: Map<DeliveredKind, Set<Listener>>;
  cursorInSink: boolean;
  /** A read model every node keeps for every estate (live state): fed every partition, no cursor (ConsumerOptions.everyPartition). */
  every: boolean;
  /** Per partition: last position delivered, last saved, positions whose listeners have not settled. */
  delivered: Map<number, number>;
  saved: Map<number, number>;
  unsettled: Map<number, number[]>;
  /** cursorInSink: delivered positions → their partition, until the sink commits them. */
  sinkParts: Map<number, number>;
  /**
   * cursorInSink: partitions whose output failed to commit. Nothing more of them is delivered (and
   * the sink drops what it queued of them) until they are read again from the committed cursor, so
   * a later commit cannot carry the cursor past what was lost.
   */
  rewinding: Set<number>;
  /** State saved with the cursor (ConsumerOptions.checkpoint): per partition, the position and time of the last one. */
  checkpoint?: ConsumerCheckpoint;
  checkpointed: Map<number, { pos: number; at: number }>;
}

export interface PartitionedFeedOptions {
  log: EventLog;
  db: HubDatabase;
  bus: Bus;
  logger: Logger;
  ownership: Ownership;
  nodeId: string;
  /** PostgreSQL url for LISTEN (another node appended to a partition this one owns). */
  url: string;
  commitEveryMs?: number;
  pageSize?: number;
  /** Look at the partitions' heads this often as well, in case a notification was missed (default 2,000 ms). */
  pollMs?: number;
}

const cursorName = (consumer: string, part: number): string => `${consumer}#${part}`;

/**
 * The event log's feed in a cluster (issue 18, docs/cluster.md "Ownership"): consumers get the
 * entries of the partitions this node owns, each partition in log order, with one cursor per
 * consumer and partition saved under the partition's lease (fenced). What this node appended is
 * delivered from memory when nothing of its partition is missing before it (the append returns
 * each partition's previous head); what other nodes appended is read by partition, woken by their
 * NOTIFY (and a slow poll of the heads). A partition taken over resumes from its cursors; one
 * handed over finishes, saves and stops.
 */
export function createPartitionedFeed(opts: PartitionedFeedOptions): LogFeed {
  const { log: eventLog, bus, logger, ownership } = opts;
  const commitEveryMs = opts.commitEveryMs ?? 100;
  const pageSize = opts.pageSize ?? 1000;
  const consumers = new Map<string, Consumer>();
  const hooks: PartitionHooks[] = [];
  /** Partitions resumed and being delivered. */
  const active = new Set<number>();
  let live = false;
  let stopped = false;
  let tail: Promise<unknown> = Promise.resolve();
  let queue: Array<{ fresh: LogEntry[]; before: Map<number, number> }> = [];
  let draining: NodeJS.Immediate | undefined;

  const at = (m: Map<number, number>, p: number): number => m.get(p) ?? 0;
  const everyOnes: Consumer[] = [];
  const owned: Consumer[] = [];
  /** Consumers fed partition `p` now: all of them while this node owns it, else the read models. */
  const consumersOf = (p: number): readonly Consumer[] => (active.has(p) ? [...owned, ...everyOnes] : everyOnes);
  const followed = (p: number): boolean => active.has(p) || everyOnes.length > 0;
  const lowest = (p: number): number => {
    let low = Infinity;
    for (const c of consumersOf(p)) low = Math.min(low, at(c.delivered, p));
    return low === Infinity ? 0 : low;
  };

  function deliverTo(c: Consumer, entry: LogEntry): void {
    const p = entry.part;
    if (entry.pos <= at(c.delivered, p) || c.rewinding.has(p)) return;
    c.delivered.set(p, entry.pos);
    const set = c.listeners.get(entry.kind);
    if (!set) return;
    if (c.cursorInSink) c.sinkParts.set(entry.pos, p);
    callListeners(set, entry, () => {
      let list = c.unsettled.get(p);
      if (!list) c.unsettled.set(p, (list = []));
      return list;
    }, logger, c.name);
  }

  function drain(): void {
    draining = undefined;
    if (!live || stopped) return;
    const batches = queue;
    queue = [];
    for (const { fresh, before } of batches) {
      for (const entry of fresh) {
        const p = entry.part;
        if (followed(p) && !reader.isBehind(p)) {
          // From memory only when nothing of this partition is missing before the batch.
          const prev = before.get(p) ?? 0;
          const to = consumersOf(p);
          let gap = false;
          for (const c of to) if (at(c.delivered, p) < prev) gap = true;
          if (gap) reader.mark(p);
          else for (const c of to) deliverTo(c, entry);
        }
        bus.emit(BUS_NAME[entry.kind], entry.body as never);
      }
    }
    void catchUp();
    scheduleCommit();
  }

  /** Active partitions with entries in the log not delivered yet, read by partition. */
  const reader = createPartitionReader({
    log: eventLog,
    logger,
    nodeId: opts.nodeId,
    url: opts.url,
    pageSize,
    pollMs: opts.pollMs ?? 2_000,
    followed,
    lowest,
    deliver: (e) => {
      for (const c of consumersOf(e.part)) deliverTo(c, e);
    },
    afterRead: () => scheduleCommit(),
  });
  const catchUp = (): Promise<void> => reader.catchUp();

  const handled = (c: Consumer, p: number): number => {
    const list = c.unsettled.get(p);
    return list && list.length ? Math.min(...list) - 1 : at(c.delivered, p);
  };

  let committing: NodeJS.Timeout | undefined;
  let saving: Promise<void> = Promise.resolve();
  function scheduleCommit(): void {
    if (committing || stopped) return;
    committing = setTimeout(() => {
      committing = undefined;
      void saveCursors();
    }, commitEveryMs);
    committing.unref?.();
  }

  /**
   * Save the cursors of `only` (default: every active partition), fenced by their leases, with the
   * consumers' checkpoints where due (`force`: a hand-over) and consistent (nothing in flight).
   */
  function saveCursors(only?: ReadonlySet<number>, force = false): Promise<void> {
    saving = saving.then(async () => {
      const changed: Array<{ c: Consumer; p: number; pos: number; cursor: boolean; state?: unknown }> = [];
      const now = Date.now();
      for (const c of owned) {
        if (c.cursorInSink) continue;
        for (const p of only ?? active) {
          const pos = handled(c, p);
          const cursor = pos > at(c.saved, p);
          const last = c.checkpointed.get(p);
          const due = c.checkpoint && pos === at(c.delivered, p) && pos > (last?.pos ?? 0) && (force || now - (last?.at ?? 0) >= c.checkpoint.everyMs);
          if (cursor || due) changed.push({ c, p, pos, cursor, ...(due ? { state: c.checkpoint!.capture(p) } : {}) });
        }
      }
      let rows = changed;
      for (let attempt = 0; rows.length > 0 && attempt < 2; attempt++) {
        try {
          await opts.db.transaction(async (trx) => {
            await ownership.fence(trx, rows.map((r) => r.p), 'cursor');
            const cursors = new Map<string, number>();
            for (const r of rows) if (r.cursor) cursors.set(cursorName(r.c.name, r.p), r.pos);
            await eventLog.saveCursorsIn(trx, cursors);
            for (const r of rows) if (r.state !== undefined) await r.c.checkpoint!.write(trx, r.p, r.pos, r.state);
          });
          for (const r of rows) {
            if (r.cursor) r.c.saved.set(r.p, r.pos);
            if (r.state !== undefined) {
              r.c.checkpointed.set(r.p, { pos: r.pos, at: now });
              r.c.checkpoint!.written(r.p, r.state);
            }
          }
          return;
        } catch (err) {
          if (err instanceof FencedError) {
            // Those partitions are someone else's now: save the others.
            rows = rows.filter((r) => !err.parts.includes(r.p));
            continue;
          }
          logger.warn({ err: (err as Error).message }, 'log cursors not saved; will retry');
          scheduleCommit();
          return;
        }
      }
    });
    return saving;
  }

  /** Read a consumer's saved cursors of `parts` again and deliver from there (its sink did not commit). */
  async function rewind(c: Consumer, parts: readonly number[]): Promise<void> {
    // Not at once: a sink that keeps failing (its database away) would otherwise spin.
    await new Promise((r) => setTimeout(r, 250).unref());
    const cursors = await eventLog.cursors();
    for (const p of parts) {
      c.rewinding.delete(p);
      if (!active.has(p)) continue;
      const pos = cursors.get(cursorName(c.name, p)) ?? cursors.get(c.name) ?? 0;
      c.delivered.set(p, pos);
      c.saved.set(p, pos);
      for (const [s, sp] of c.sinkParts) if (sp === p && s > pos) c.sinkParts.delete(s);
      reader.mark(p);
    }
    void catchUp();
  }

  async function acquired(parts: readonly number[]): Promise<void> {
    logger.debug({ parts: parts.length }, 'partitions: take-over starts');
    const cursors = await eventLog.cursors();
    for (const c of owned) {
      for (const p of parts) {
        // A partition never consumed in the cluster: from the single hub's cursor (an upgrade), else the start.
        const pos = cursors.get(cursorName(c.name, p)) ?? cursors.get(c.name) ?? 0;
        c.delivered.set(p, pos);
        c.saved.set(p, pos);
        c.unsettled.delete(p);
        c.checkpointed.delete(p);
      }
      // A checkpointed consumer restores its state and is fed from the checkpoint (it replays up to its cursor).
      if (c.checkpoint) {
        const from = await c.checkpoint.resume(new Map(parts.map((p) => [p, at(c.saved, p)])));
        for (const [p, pos] of from) {
          if (pos > at(c.saved, p)) continue;
          c.delivered.set(p, pos);
          c.checkpointed.set(p, { pos, at: Date.now() });
        }
      }
    }
    for (const h of hooks) await h.acquired?.(parts);
    logger.debug({ parts: parts.length }, 'partitions: taken over, catching up');
    for (const p of parts) {
      active.add(p);
      reader.mark(p);
    }
    // Not awaited: the catch-up of a big backlog runs beside the live stream (the lease manager
    // goes on renewing meanwhile).
    void catchUp();
  }

  async function dropped(parts: readonly number[], why: LossReason): Promise<void> {
    logger.debug({ parts: parts.length, why }, 'partitions: hand-over starts');
    for (const p of parts) {
      active.delete(p);
      if (!followed(p)) reader.forget(p);
    }
    if (why === 'released') {
      // Finish what was delivered, let the consumers write it, then save the cursors (the lease is still ours).
      for (let waited = 0; waited < 5_000; waited += 20) {
        let open = false;
        for (const c of owned) for (const p of parts) if (c.unsettled.get(p)?.length) open = true;
        if (!open) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const h of hooks) await h.dropped?.(parts, why);
      await saveCursors(new Set(parts), true);
    } else {
      for (const h of hooks) await h.dropped?.(parts, why);
    }
    logger.debug({ parts: parts.length, why }, 'partitions: handed over');
    for (const c of owned) {
      for (const p of parts) {
        c.delivered.delete(p);
        c.saved.delete(p);
        c.unsettled.delete(p);
        c.checkpointed.delete(p);
      }
      for (const [s, sp] of c.sinkParts) if (parts.includes(sp)) c.sinkParts.delete(s);
    }
  }

  const consumerBus = (c: Consumer | undefined): Bus => logBus(bus, c?.listeners, append, logger);


  function append(entries: readonly LogEntryInput[], within?: (trx: Transaction<Schema>, fresh: readonly LogEntry[]) => Promise<void>): Promise<LogEntry[]> {
    const op = tail.then(async () => {
      if (entries.length === 0) return [];
      const result = await opts.db.transaction(async (trx) => {
        const r = await eventLog.appendPartitioned(entries, trx, opts.nodeId);
        if (within) await within(trx, r.fresh);
        return r;
      });
      if (result.fresh.length && !stopped) {
        queue.push(result);
        draining ??= setImmediate(drain);
      }
      return result.fresh;
    });
    tail = op.catch(() => undefined);
    return op;
  }

  ownership.listen({ acquired, dropped });

  return {
    bus: consumerBus(undefined),
    consumer(name, o: ConsumerOptions = {}) {
      if (live) throw new Error(`log consumer ${name} registered after start`);
      let c = consumers.get(name);
      if (!c) {
        c = { name, listeners: new Map(), cursorInSink: o.cursorInSink ?? false, every: o.everyPartition ?? false, delivered: new Map(), saved: new Map(), unsettled: new Map(), sinkParts: new Map(), rewinding: new Set(), ...(o.checkpoint ? { checkpoint: o.checkpoint } : {}), checkpointed: new Map() };
        consumers.set(name, c);
        (c.every ? everyOnes : owned).push(c);
      }
      return consumerBus(c);
    },
    append,
    onPartitions: (h) => void hooks.push(h),
    async commitSinkCursor(trx, consumer, sources) {
      const c = consumers.get(consumer);
      if (!c) return;
      const top = new Map<number, number>();
      for (const s of sources) {
        const p = c.sinkParts.get(s);
        if (p !== undefined && s > at(top, p)) top.set(p, s);
      }
      if (top.size === 0) return;
      await ownership.fence(trx, top.keys(), consumer);
      await eventLog.saveCursorsIn(trx, new Map([...top].map(([p, pos]) => [cursorName(consumer, p), pos])));
    },
    sinkFailed(consumer, sources) {
      const c = consumers.get(consumer);
      if (!c) return;
      const parts = new Set<number>();
      for (const s of sources) {
        const p = c.sinkParts.get(s);
        if (p !== undefined) parts.add(p);
      }
      for (const p of parts) c.rewinding.add(p);
      const again = (): void =>
        void rewind(c, [...parts]).catch((err: unknown) => {
          // The cursors could not be read (the database away): try again; the partitions wait meanwhile.
          logger.warn({ err: (err as Error).message, consumer }, 'log consumer rewind failed; retrying');
          if (!stopped) again();
        });
      if (parts.size) again();
    },
    sinkWants(consumer, source) {
      const c = consumers.get(consumer);
      const p = c?.sinkParts.get(source);
      return p !== undefined && active.has(p) && !c!.rewinding.has(p);
    },
    sinkCommitted(consumer, sources) {
      const c = consumers.get(consumer);
      if (!c) return;
      for (const s of sources) c.sinkParts.delete(s);
    },
    async start() {
      // Read models follow every partition from its head now: they are seeded from the store at
      // their own start (hub/state), not from a cursor.
      if (everyOnes.length > 0) {
        const heads = await eventLog.heads(Array.from({ length: PARTITION_COUNT }, (_, p) => p));
        for (const c of everyOnes) for (const [p, head] of heads) c.delivered.set(p, head);
      }
      live = true;
      await reader.start();
    },
    async stop() {
      if (draining) {
        clearImmediate(draining);
        drain();
      }
      stopped = true;
      if (committing) clearTimeout(committing);
      committing = undefined;
      await reader.stop();
      await tail;
      await saveCursors();
    },
    flushCursors: () => saveCursors(),
  };
}
