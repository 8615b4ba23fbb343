import type { Logger } from 'pino';
import { PARTITION_COUNT } from '../cluster/partition.js';
import { createPgListener, type PgListener } from '../platform/db/listen.js';
import type { EventLog, LogEntry } from './log.js';

/**
 * Longest wait for one partition read. Observed: a read in flight while the process was stopped
 * (SIGSTOP past the lease TTL) never settled after it resumed, and the one catch-up loop waited on
 * it for good, so the partitions the node took over later were never read. Past this the read is
 * abandoned (its connection with it) and the partitions are read again.
 */
const READ_TIMEOUT_MS = 10_000;
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export interface PartitionReaderOptions {
  log: EventLog;
  logger: Logger;
  nodeId: string;
  /** PostgreSQL url for LISTEN rb_log. */
  url: string;
  pageSize: number;
  /** Look at the partitions' heads this often as well, in case a notification was missed. */
  pollMs: number;
  /** Partitions this node follows now (owned, or every one for a read model). */
  followed(part: number): boolean;
  /** The lowest position delivered of `part` among the consumers fed it: where a read starts. */
  lowest(part: number): number;
  /** Hand an entry read to the consumers of its partition. */
  deliver(entry: LogEntry): void;
  /** After each reading loop (the cursors may have moved). */
  afterRead(): void;
}

/** What other nodes appended, read from the log by partition (hub/eventlog/feed-partitioned.ts). */
export interface PartitionReader {
  /** Mark a partition behind: read it from its lowest delivered position. */
  mark(part: number): void;
  /** Partition marked behind and not read yet. */
  isBehind(part: number): boolean;
  /** Not behind any more (no longer followed). */
  forget(part: number): void;
  /** Start a reading loop over what is marked, unless one runs (its promise then). */
  catchUp(): Promise<void>;
  /** LISTEN and the slow poll of the heads. */
  start(): Promise<void>;
  /** No more reading; waits for a loop in flight. */
  stop(): Promise<void>;
}

/**
 * Reads the partitions marked behind, all in one query a page, woken by another node's NOTIFY
 * `rb_log` (`node|parts`, heard after its COMMIT), a LISTEN reconnect (every followed partition)
 * and a poll of the heads.
 */
export function createPartitionReader(o: PartitionReaderOptions): PartitionReader {
  const { log: eventLog, logger, followed, lowest } = o;
  const behind = new Set<number>();
  let stopped = false;
  let catching: Promise<void> | undefined;
  let listener: PgListener | undefined;
  let poll: NodeJS.Timeout | undefined;
  const markAll = (): void => {
    for (let p = 0; p < PARTITION_COUNT; p++) if (followed(p)) behind.add(p);
  };

  /**
   * One reading loop at a time, over the partitions marked behind. (The promise is kept only once
   * the loop has started: a loop that finished synchronously — nothing behind — once left a settled
   * promise here for good, and no partition was ever read again.)
   */
  function catchUp(): Promise<void> {
    if (catching) return catching;
    if (behind.size === 0 || stopped) return Promise.resolve();
    const run = readBehind().finally(() => {
      if (catching === run) catching = undefined;
      o.afterRead();
      if (behind.size > 0 && !stopped) void catchUp();
    });
    catching = run;
    return run;
  }
  async function readBehind(): Promise<void> {
    try {
      while (behind.size > 0 && !stopped) {
        // Every partition behind in one query a page (a NOTIFY of another node's append names
        // many partitions; a query each was most of a node's reading).
        const from = new Map<number, number>();
        for (const p of behind) from.set(p, lowest(p));
        behind.clear();
        while (from.size > 0 && !stopped) {
          for (const p of from.keys()) if (!followed(p)) from.delete(p);
          const page = await withTimeout(eventLog.readParts(from, o.pageSize), READ_TIMEOUT_MS, `reading partitions ${[...from.keys()].join(',')}`);
          // A consumer that needs older entries than this read started past joined meanwhile (the
          // partition was taken over: its consumers resume from their cursors; or a sink rewound):
          // the page would make it skip the entries in between. Read that partition again from its position.
          for (const [p, pos] of from) {
            if (lowest(p) < pos || !followed(p)) {
              from.delete(p);
              if (followed(p)) behind.add(p);
            }
          }
          if (page.length > 0) logger.debug({ parts: [...from.keys()], read: page.length }, 'partitions: read');
          for (const e of page) if (from.has(e.part)) o.deliver(e);
          if (page.length < o.pageSize) break;
          const last = page[page.length - 1]!.pos;
          for (const p of from.keys()) from.set(p, Math.max(from.get(p)!, last));
        }
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'log partitions not read; retrying');
      markAll();
      await new Promise((r) => setTimeout(r, 500).unref());
    }
  }

  return {
    mark: (p) => void behind.add(p),
    isBehind: (p) => behind.has(p),
    forget: (p) => void behind.delete(p),
    catchUp,
    async start() {
      listener = createPgListener({
        url: o.url,
        channels: ['rb_log'],
        log: logger,
        onNotify: (_channel, payload) => {
          const [node, list] = payload.split('|');
          if (node === o.nodeId || !list) return;
          let any = false;
          for (const s of list.split(',')) {
            const p = Number(s);
            if (followed(p)) {
              behind.add(p);
              any = true;
            }
          }
          if (any) void catchUp();
        },
        onReconnect: () => {
          markAll();
          void catchUp();
        },
      });
      await listener.start();
      const look = async (): Promise<void> => {
        const parts = Array.from({ length: PARTITION_COUNT }, (_, p) => p).filter(followed);
        const heads = await eventLog.heads(parts);
        for (const [p, head] of heads) if (followed(p) && head > lowest(p)) behind.add(p);
        if (behind.size) void catchUp();
      };
      poll = setInterval(() => void look().catch(() => undefined), o.pollMs);
      poll.unref();
    },
    async stop() {
      stopped = true;
      if (poll) clearInterval(poll);
      await listener?.stop();
      await catching;
    },
  };
}
