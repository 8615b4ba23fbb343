import type { Logger } from 'pino';
import type { Transaction } from 'kysely';
import type { Bus } from '../bus.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { Schema } from '../platform/db/schema.js';
import type { DeliveredKind, EventLog, LogEntry, LogEntryInput } from './log.js';
import { BUS_NAME, callListeners, logBus, type LogListener } from './feed-kinds.js';
import { createPartitionedFeed } from './feed-partitioned.js';
import type { LossReason, Ownership } from '../cluster/leases.js';

export { entryOf } from './feed-kinds.js';

/** What a consumer service does when this node takes over or hands over partitions (cluster only). */
export interface PartitionHooks {
  /** Before the partitions' entries are delivered: load what the service keeps for their estates. */
  acquired?(parts: readonly number[]): Promise<void>;
  /** After their delivery stopped: `released` finish and write what was delivered; `lost` just forget. */
  dropped?(parts: readonly number[], why: LossReason): Promise<void>;
}

type Listener = LogListener;

interface Consumer {
  name: string;
  listeners: Map<DeliveredKind, Set<Listener>>;
  /** Last position delivered to its listeners. */
  delivered: number;
  /** Positions whose listeners returned a promise not settled yet (ascending). */
  unsettled: number[];
  /** Last position saved in `log_cursors`. */
  saved: number;
  /** Its sink commits the cursor with its own output (ConsumerOptions.cursorInSink): never saved here. */
  cursorInSink: boolean;
}

export interface ConsumerOptions {
  /**
   * The consumer's output commits its cursor in its own transaction (push: the push-log rows of
   * entries up to `pos`, and the cursor at `pos`, in one COMMIT; its listeners get `pos`). The feed
   * then never saves this cursor itself: saving it here could run ahead of the output (a crash
   * would lose what was not yet written) or behind it (a restart would give it twice).
   */
  cursorInSink?: boolean;
  /**
   * Cluster: a read model every node keeps for every estate (live state), fed every partition's
   * entries whoever owns it, from the head at start (it seeds itself from the store), with no cursor.
   * One node: an ordinary consumer.
   */
  everyPartition?: boolean;
  /**
   * Cluster: state the consumer keeps beside its cursor (the alert rules' memory,
   * hub/alerts/checkpoint.ts), saved with the cursor and restored by the node that takes a
   * partition over. The single hub ignores it (a restart starts from the open alerts).
   */
  checkpoint?: ConsumerCheckpoint;
}

/** What a consumer checkpoints with its cursor, per partition (ConsumerOptions.checkpoint). */
export interface ConsumerCheckpoint {
  /** At most one checkpoint of a partition per this many ms (the cursor alone in between). */
  everyMs: number;
  /** The consumer's state of the partition now, when it is exactly the state after its cursor (called synchronously). */
  capture(part: number): unknown;
  /** Write what `capture` returned, in the cursor's transaction (fenced). */
  write(trx: Transaction<Schema>, part: number, pos: number, captured: unknown): Promise<void>;
  /** It committed. */
  written(part: number, captured: unknown): void;
  /** Taking partitions over, given their cursors: restore the state; answers where to deliver each partition from (at most its cursor). */
  resume(cursors: ReadonlyMap<number, number>): Promise<Map<number, number>>;
}

export interface LogFeedOptions {
  log: EventLog;
  /** The database the log is in: appends with work of their own run in its transactions. */
  db: HubDatabase;
  /** The in-process bus: live-only listeners (no cursor) and the non-logged messages (`state`). */
  bus: Bus;
  logger: Logger;
  /** Cursor commits are batched: at most one every this many ms (default 100). */
  commitEveryMs?: number;
  /** Entries read per page when a consumer resumes (default 1000). */
  pageSize?: number;
  /**
   * The cluster (hub/cluster/leases.ts): consumers get only the partitions this node owns, with a
   * cursor per partition (hub/eventlog/feed-partitioned.ts). Absent or not clustered: one node,
   * every entry.
   */
  cluster?: { ownership: Ownership; nodeId: string; url: string; pollMs?: number };
}

export interface LogFeed {
  /**
   * The bus for producers and for listeners without a cursor: emitting a logged message
   * (`event`, `gateway.status`, `gateway.connection`, `snapshot`, `command.result`) appends it to the
   * log and delivers it once committed; `state` goes straight through.
   */
  readonly bus: Bus;
  /**
   * A named consumer with a cursor in the database (state, alerts, push, facts): its listeners of
   * logged messages get every committed entry once, in log order, and after a restart resume from
   * the cursor. Call before start().
   */
  consumer(name: string, opts?: ConsumerOptions): Bus;
  /**
   * Append in one transaction (`within` runs in it, with the entries that are new: the embedded
   * event rows, the snapshot link), then deliver the new ones on a later turn, so the caller's
   * acknowledgements go out first. One append at a time, so positions follow commit order.
   */
  append(entries: readonly LogEntryInput[], within?: (trx: Transaction<Schema>, fresh: readonly LogEntry[]) => Promise<void>): Promise<LogEntry[]>;
  /** Resume every consumer from its cursor (a new consumer starts at the head), then go live. */
  start(): Promise<void>;
  /** Save the cursors; later entries are no longer delivered. */
  stop(): Promise<void>;
  /** Save the cursors now (tests). */
  flushCursors(): Promise<void>;
  /** Take-over and hand-over work of a consumer service (cluster only; never called on one node). */
  onPartitions(hooks: PartitionHooks): void;
  /**
   * A `cursorInSink` consumer's output transaction commits its cursor here: `sources` are the
   * positions its listeners were given for what it writes in `trx`. In a cluster the write is fenced
   * by the partitions' leases (throws FencedError: roll back).
   */
  commitSinkCursor(trx: Transaction<Schema>, consumer: string, sources: readonly number[]): Promise<void>;
  /** The sink's transaction with these sources committed (forget them) or failed (deliver them again). */
  sinkCommitted(consumer: string, sources: readonly number[]): void;
  sinkFailed(consumer: string, sources: readonly number[]): void;
  /** Whether a source is still this node's to write (its partition was not handed over since). */
  sinkWants(consumer: string, source: number): boolean;
}

export function createLogFeed(opts: LogFeedOptions): LogFeed {
  if (opts.cluster?.ownership.clustered) {
    const { ownership, nodeId, url, pollMs } = opts.cluster;
    return createPartitionedFeed({ ...opts, ownership, nodeId, url, ...(pollMs !== undefined ? { pollMs } : {}) });
  }
  const { log: eventLog, bus, logger } = opts;
  const commitEveryMs = opts.commitEveryMs ?? 100;
  const pageSize = opts.pageSize ?? 1000;
  const consumers = new Map<string, Consumer>();
  let live = false;
  let stopped = false;

  // One append at a time: a position is taken at INSERT and becomes visible at COMMIT, so two
  // appends in flight (PostgreSQL's pool) could commit out of order and a cursor could pass an
  // entry not yet visible. Serialised, commit order is position order.
  let tail: Promise<unknown> = Promise.resolve();

  // Committed entries waiting for their turn: delivered on a later turn (setImmediate), in order.
  let queue: LogEntry[] = [];
  let draining: NodeJS.Immediate | undefined;

  function deliverTo(c: Consumer, entry: LogEntry): void {
    if (entry.pos <= c.delivered) return;
    c.delivered = entry.pos;
    const set = c.listeners.get(entry.kind);
    if (!set) return;
    callListeners(set, entry, () => c.unsettled, logger, c.name);
  }

  function drain(): void {
    draining = undefined;
    if (!live || stopped) return;
    const entries = queue;
    queue = [];
    for (const entry of entries) {
      for (const c of consumers.values()) deliverTo(c, entry);
      // Then the listeners without a cursor (device names, connected set, registry, commands).
      bus.emit(BUS_NAME[entry.kind], entry.body as never);
    }
    scheduleCommit();
  }

  /** Position up to which a consumer has handled everything. */
  const handled = (c: Consumer): number => (c.unsettled.length ? c.unsettled[0]! - 1 : c.delivered);

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
  function saveCursors(): Promise<void> {
    saving = saving.then(async () => {
      const changed = new Map<string, number>();
      for (const c of consumers.values()) {
        const pos = handled(c);
        if (pos > c.saved && !c.cursorInSink) changed.set(c.name, pos);
      }
      if (changed.size === 0) return;
      try {
        await eventLog.saveCursors(changed);
        for (const [name, pos] of changed) consumers.get(name)!.saved = pos;
      } catch (err) {
        // Not saved: the entries since the last saved cursor are delivered again after a restart.
        logger.warn({ err }, 'log cursors not saved; will retry');
        scheduleCommit();
      }
    });
    return saving;
  }

  const consumerBus = (c: Consumer | undefined): Bus => logBus(bus, c?.listeners, append, logger);


  function append(entries: readonly LogEntryInput[], within?: (trx: Transaction<Schema>, fresh: readonly LogEntry[]) => Promise<void>): Promise<LogEntry[]> {
    const op = tail.then(async () => {
      const fresh = within
        ? await opts.db.transaction(async (trx) => {
            const added = await eventLog.append(entries, trx);
            await within(trx, added);
            return added;
          })
        : await eventLog.append(entries);
      if (fresh.length && !stopped) {
        for (const e of fresh) queue.push(e);
        draining ??= setImmediate(drain);
      }
      return fresh;
    });
    tail = op.catch(() => undefined);
    return op;
  }

  const feed: LogFeed = {
    bus: consumerBus(undefined),
    consumer(name, o = {}) {
      if (live) throw new Error(`log consumer ${name} registered after start`);
      let c = consumers.get(name);
      if (!c) consumers.set(name, (c = { name, listeners: new Map(), delivered: 0, unsettled: [], saved: 0, cursorInSink: o.cursorInSink ?? false }));
      return consumerBus(c);
    },
    append,
    async start() {
      const cursors = await eventLog.cursors();
      const head = await eventLog.head();
      const fresh = new Map<string, number>();
      for (const c of consumers.values()) {
        const at = cursors.get(c.name);
        if (at === undefined) fresh.set(c.name, head);
        c.delivered = c.saved = at ?? head;
      }
      await eventLog.saveCursors(fresh);
      // Resume: what each consumer had not handled when the hub stopped (or died), oldest first.
      let replayed = 0;
      for (const c of consumers.values()) {
        for (;;) {
          const page = await eventLog.read(c.delivered, pageSize);
          for (const entry of page) deliverTo(c, entry);
          replayed += page.length;
          if (page.length < pageSize) break;
        }
      }
      if (replayed > 0) logger.info({ replayed, consumers: [...consumers.keys()] }, 'log consumers resumed from their cursors');
      live = true;
      if (queue.length) draining ??= setImmediate(drain);
      await saveCursors();
    },
    async stop() {
      if (draining) {
        clearImmediate(draining);
        drain();
      }
      stopped = true;
      if (committing) clearTimeout(committing);
      committing = undefined;
      await tail;
      await saveCursors();
    },
    flushCursors: () => saveCursors(),
    onPartitions: () => undefined,
    async commitSinkCursor(trx, consumer, sources) {
      let top = -1;
      for (const s of sources) if (s > top) top = s;
      if (top >= 0) await eventLog.saveCursorIn(trx, consumer, top);
    },
    sinkCommitted: () => undefined,
    // One node: what the sink did not write is delivered again from its cursor after a restart.
    sinkFailed: () => undefined,
    sinkWants: () => true,
  };
  return feed;
}
