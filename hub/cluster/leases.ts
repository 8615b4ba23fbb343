import { sql, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HubDatabase, Schema } from '../platform/db/index.js';
import { PARTITION_COUNT } from './partition.js';
import { createPgListener, type PgListener } from '../platform/db/listen.js';

/** A write refused because this node no longer holds the partition's lease at its epoch. */
export class FencedError extends Error {
  readonly code = 'RB_ERR_FENCED';
  constructor(readonly parts: readonly number[]) {
    super(`partition lease lost (partitions ${parts.join(', ')}): another node owns them now; nothing was written`);
  }
}

export type LossReason = 'released' | 'lost';

/** What takes over or hands over a partition's work (the log feed, and through it the consumers). */
export interface OwnershipListener {
  /** Partitions just acquired: resume their work (cursors, memory) before delivery starts. */
  acquired(parts: readonly number[]): Promise<void>;
  /**
   * Partitions going away. `released`: handed over on purpose (rebalance, stop): finish and save
   * first, the lease is released after this resolves. `lost`: the lease lapsed or was taken; stop at
   * once, nothing more of them can commit.
   */
  dropped(parts: readonly number[], why: LossReason): Promise<void>;
}

/** Which partitions this node owns, and the fence every owner write goes through. */
export interface Ownership {
  /** False for the embedded hub: one node owns everything, no fence. */
  readonly clustered: boolean;
  owns(part: number): boolean;
  /** Owned partitions and their epochs. */
  owned(): ReadonlyMap<number, number>;
  /**
   * In the caller's transaction: lock the leases of `parts` (FOR KEY SHARE, so a takeover waits for this
   * transaction) and check this node holds each at the epoch it took it with. Throws FencedError
   * (counted on `rb_cluster_fenced_writes_total{what}`) otherwise: the transaction must roll back.
   */
  fence(trx: Transaction<Schema>, parts: Iterable<number>, what: string): Promise<void>;
  listen(listener: OwnershipListener): void;
}

/** The embedded hub: every partition, always. */
export function soleOwnership(): Ownership {
  const all = new Map(Array.from({ length: PARTITION_COUNT }, (_, p) => [p, 0] as const));
  return { clustered: false, owns: () => true, owned: () => all, fence: async () => undefined, listen: () => undefined };
}

export interface LeaseManager extends Ownership {
  /** Join: heartbeat, take a fair share, then renew every ttl/3. */
  start(): Promise<void>;
  /** Hand every partition over (listeners finish first) and leave the node list. */
  stop(): Promise<void>;
  /** One round now (tests; a NOTIFY that a lease was released). */
  tick(): Promise<void>;
}

export interface LeaseOptions {
  db: HubDatabase;
  nodeId: string;
  version: string;
  log: Logger;
  registry?: Registry;
  /** Lease lifetime (ms); default 10,000. Renewed every third of it. */
  ttlMs?: number;
  /** PostgreSQL url for LISTEN `rb_leases`: a node that hands partitions over says so, and the others take them at once instead of at their next round. */
  url?: string;
  /**
   * Stop delivering partitions whose renewal is overdue (default true). Off only in tests of the
   * fence itself: a process paused before its timer runs does not give up either, and the database's
   * fence must still refuse its writes.
   */
  giveUpLocally?: boolean;
}

/*
 * Row locks, chosen so that owner writes never hold up renewals: fence() takes FOR KEY SHARE, which
 * conflicts only with FOR UPDATE. A renewal (UPDATE of expires_at, not a key column) takes FOR NO KEY
 * UPDATE and passes; a takeover picks its rows with SELECT … FOR UPDATE SKIP LOCKED, so it skips a
 * partition while one of its owner's fenced transactions is in flight, and takes it at a later
 * round, after that transaction ended: a write that passed the fence commits before the takeover.
 */
type DbNow = ReturnType<typeof sql<number>>;
/** The database's clock in ms: every node judges expiry by the same clock. */
const dbNow: DbNow = sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/**
 * Partition leases on PostgreSQL (issue 18, docs/cluster.md "Ownership"). Estates hash to
 * PARTITION_COUNT partitions; each has one row in `partition_leases` with its owner, an epoch and
 * when it lapses (database clock). A node takes free or lapsed partitions up to its fair share
 * (partitions / live nodes, from `node_heartbeats`), raising the epoch of each; renews its own at a
 * third of the TTL; hands over what is above its share when another node joins, and everything at
 * stop. Every owner write runs `fence()` in its transaction, so a node that was paused or cut off
 * past its TTL can commit nothing for a partition another node took meanwhile.
 *
 * The lease is also given up locally when a renewal has not succeeded within the TTL of its start:
 * the node stops delivering those partitions even before a takeover (the fence is what makes it
 * safe; this keeps it from working in vain).
 */
export function createLeaseManager(opts: LeaseOptions): LeaseManager {
  const { db, nodeId, log } = opts;
  if (db.dialect !== 'postgres') throw new Error('partition leases need PostgreSQL (db.url); the embedded hub owns every partition');
  const ttl = opts.ttlMs ?? 10_000;
  if (!(ttl >= 300)) throw new RangeError(`cluster.leaseTtl must be at least 300 ms, got ${ttl}`);
  const owned = new Map<number, number>();
  const listeners: OwnershipListener[] = [];
  let validUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;
  let running = false;
  let round: Promise<void> = Promise.resolve();
  let listener: PgListener | undefined;

  const reg = opts.registry ? [opts.registry] : [];
  const fenced = new Counter({ name: 'rb_cluster_fenced_writes_total', help: 'Owner writes refused because the partition lease was lost (fencing), by what was written', labelNames: ['what'] as const, registers: reg });
  // Zero from the start, so /metrics shows the series before anything was fenced.
  for (const what of ['alert', 'cursor', 'push']) fenced.inc({ what }, 0);
  const moves = new Counter({ name: 'rb_cluster_partition_moves_total', help: 'Partitions this node took or gave up, by why (acquired, released, lost)', labelNames: ['why'] as const, registers: reg });
  new Gauge({ name: 'rb_cluster_partitions_owned', help: 'Partitions this node owns now', registers: reg, collect() { this.set(owned.size); } });

  /**
   * `lost`: forget at once (nothing more can commit). `released`: the listeners finish and save their
   * work first, while this node still holds the leases (their writes pass the fence), and only then
   * are the partitions no longer this node's.
   */
  async function drop(parts: number[], why: LossReason): Promise<void> {
    if (parts.length === 0) return;
    moves.inc({ why }, parts.length);
    if (why === 'lost') {
      for (const p of parts) owned.delete(p);
      log.info({ parts, why, owned: owned.size }, 'partition leases lost');
      // Not awaited: renewing the partitions still held must not wait for the listeners.
      void inOrder((l) => l.dropped(parts, why), 'partition hand-over failed', parts);
      return;
    }
    await inOrder((l) => l.dropped(parts, why), 'partition hand-over failed', parts);
    for (const p of parts) owned.delete(p);
    log.info({ parts, why, owned: owned.size }, 'partition leases handed over');
  }

  /**
   * Listener work, one call at a time in the order the leases moved (a take-over's catch-up, a
   * loss), off the renewal rounds: a catch-up longer than the TTL would otherwise stop renewals and
   * lose the partitions it is catching up.
   */
  let listenerChain: Promise<void> = Promise.resolve();
  function inOrder(call: (l: OwnershipListener) => Promise<void>, failure: string, parts: readonly number[]): Promise<void> {
    listenerChain = listenerChain.then(async () => {
      for (const l of listeners) await call(l).catch((err: unknown) => log.error({ err, parts }, failure));
    });
    return listenerChain;
  }

  function armExpiry(): void {
    if (expiryTimer) clearTimeout(expiryTimer);
    expiryTimer = undefined;
    if (!running || owned.size === 0 || opts.giveUpLocally === false) return;
    expiryTimer = setTimeout(() => {
      expiryTimer = undefined;
      if (Date.now() >= validUntil && owned.size > 0) {
        log.warn({ ttlMs: ttl }, 'partition leases not renewed within their TTL: giving them up locally');
        void drop([...owned.keys()], 'lost');
      }
    }, Math.max(0, validUntil - Date.now()));
    expiryTimer.unref();
  }

  /** Heartbeat, renew, count live nodes, list what could be taken: one transaction. */
  async function renew(): Promise<{ live: number; free: number[] }> {
    const started = Date.now();
    const mine = [...owned.keys()];
    const result = await db.transaction(async (trx) => {
      await sql`SET LOCAL statement_timeout = ${sql.lit(Math.max(100, Math.floor(ttl / 2)))}`.execute(trx);
      await sql`INSERT INTO node_heartbeats (node_id, beat_at, version) VALUES (${nodeId}, ${dbNow}, ${opts.version})
        ON CONFLICT (node_id) DO UPDATE SET beat_at = excluded.beat_at, version = excluded.version`.execute(trx);
      const renewed = mine.length
        ? (await sql<{ part: number; epoch: number }>`UPDATE partition_leases SET expires_at = ${dbNow} + ${ttl}
            WHERE owner = ${nodeId} AND part = ANY(${mine}::int[]) RETURNING part, epoch`.execute(trx)).rows
        : [];
      const live = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM node_heartbeats WHERE beat_at > ${dbNow} - ${ttl}`.execute(trx)).rows[0]?.n ?? 1;
      const free = (await sql<{ part: number }>`SELECT part FROM partition_leases
          WHERE (owner IS NULL OR expires_at < ${dbNow} OR owner = ${nodeId}) AND NOT (part = ANY(${mine}::int[])) ORDER BY part`.execute(trx)).rows.map((r) => r.part);
      return { renewed, live: Math.max(1, live), free };
    });
    const back = new Map(result.renewed.map((r) => [r.part, Number(r.epoch)]));
    const lost = mine.filter((p) => owned.has(p) && back.get(p) !== owned.get(p));
    await drop(lost, 'lost');
    validUntil = started + ttl;
    armExpiry();
    return { live: result.live, free: result.free };
  }

  async function release(parts: number[]): Promise<void> {
    if (parts.length === 0) return;
    const epochs = parts.map((p) => owned.get(p)!);
    await drop(parts, 'released');
    await db.transaction(async (trx) => {
      await sql`UPDATE partition_leases SET owner = NULL, expires_at = 0
        FROM unnest(${parts}::int[], ${epochs}::bigint[]) AS mine(part, epoch)
        WHERE partition_leases.part = mine.part AND partition_leases.epoch = mine.epoch AND partition_leases.owner = ${nodeId}`.execute(trx);
      await sql`SELECT pg_notify('rb_leases', ${nodeId})`.execute(trx);
    });
  }

  async function acquire(want: number): Promise<void> {
    if (want <= 0) return;
    const mine = [...owned.keys()];
    const rows = (
      await db.transaction(async (trx) => {
        await sql`SET LOCAL statement_timeout = ${sql.lit(Math.max(100, Math.floor(ttl / 3)))}`.execute(trx);
        return sql<{ part: number; epoch: number }>`UPDATE partition_leases SET owner = ${nodeId}, epoch = epoch + 1, expires_at = ${dbNow} + ${ttl}
          WHERE part IN (SELECT part FROM partition_leases
            WHERE (owner IS NULL OR expires_at < ${dbNow} OR owner = ${nodeId}) AND NOT (part = ANY(${mine}::int[]))
            ORDER BY part LIMIT ${want} FOR UPDATE SKIP LOCKED)
          RETURNING part, epoch`.execute(trx);
      })
    ).rows;
    if (rows.length === 0) return;
    const parts = rows.map((r) => r.part).sort((a, b) => a - b);
    for (const r of rows) owned.set(r.part, Number(r.epoch));
    moves.inc({ why: 'acquired' }, parts.length);
    log.info({ parts, owned: owned.size }, 'partition leases acquired');
    armExpiry();
    void inOrder((l) => l.acquired(parts), 'partition take-over failed', parts);
  }

  /** A renewal in flight (the round's or the timer's): one at a time. */
  let renewing: Promise<{ live: number; free: number[] }> | undefined;
  function renewOnce(): Promise<{ live: number; free: number[] }> {
    renewing ??= renew().finally(() => (renewing = undefined));
    return renewing;
  }
  /** A round (renewal, then taking or handing over) is running. */
  let roundBusy = false;

  async function roundNow(): Promise<void> {
    if (!running) return;
    roundBusy = true;
    try {
      await roundBody();
    } finally {
      roundBusy = false;
    }
  }

  async function roundBody(): Promise<void> {
    let state: { live: number; free: number[] };
    try {
      state = await renewOnce();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'partition lease renewal failed; retrying');
      return;
    }
    const share = Math.ceil(PARTITION_COUNT / state.live);
    try {
      if (owned.size > share) {
        // Hand over the highest-numbered ones: the joining node takes them from the free list.
        const extra = [...owned.keys()].sort((a, b) => b - a).slice(0, owned.size - share);
        await release(extra);
      } else if (owned.size < share && state.free.length > 0) {
        await acquire(share - owned.size);
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'partition lease hand-over failed; retrying');
    }
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      timer = undefined;
      // A take-over or hand-over still running (its listeners resume or finish the partitions' work,
      // which can take longer than the TTL under load): renew alongside it, or the leases it is
      // working under would lapse meanwhile and everything would be lost and moved again.
      // The next timer from now, not after this round: a long round must not stop the renewals.
      schedule();
      if (roundBusy) {
        void renewOnce().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'partition lease renewal failed; retrying'));
        return;
      }
      void manager.tick();
    }, Math.max(100, Math.floor(ttl / 3)));
    timer.unref();
  }

  const manager: LeaseManager = {
    clustered: true,
    owns: (p) => owned.has(p),
    owned: () => owned,
    listen: (l) => void listeners.push(l),
    async fence(trx, parts, what) {
      const want = [...new Set(parts)].sort((a, b) => a - b);
      if (want.length === 0) return;
      const notMine = want.filter((p) => !owned.has(p));
      if (notMine.length === 0) {
        // A node paused inside this transaction must not hold the lease rows past the TTL: the
        // transaction's idle timeout is set by the same statement (set_config(…, true) is SET LOCAL;
        // no row, no lock to hold, and the fence fails below).
        const rows = (
          await sql<{ part: number; owner: string | null; epoch: number }>`SELECT part, owner, epoch, set_config('idle_in_transaction_session_timeout', ${String(ttl)}, true) FROM partition_leases WHERE part = ANY(${want}::int[]) FOR KEY SHARE`.execute(trx)
        ).rows;
        const byPart = new Map(rows.map((r) => [r.part, r]));
        for (const p of want) {
          const r = byPart.get(p);
          if (!r || r.owner !== nodeId || Number(r.epoch) !== owned.get(p)) notMine.push(p);
        }
      }
      if (notMine.length > 0) {
        fenced.inc({ what });
        throw new FencedError(notMine);
      }
    },
    async start() {
      running = true;
      if (opts.url) {
        listener = createPgListener({ url: opts.url, channels: ['rb_leases'], log, onNotify: (_c, from) => void (from !== nodeId && manager.tick()) });
        await listener.start();
      }
      round = roundNow();
      // The timer runs from now: it renews while the first take-over's listeners are still at work.
      schedule();
      await round;
    },
    tick() {
      round = round.then(roundNow, roundNow);
      return round;
    },
    async stop() {
      if (!running) return;
      await round.catch(() => undefined);
      running = false;
      await listener?.stop();
      if (timer) clearTimeout(timer);
      if (expiryTimer) clearTimeout(expiryTimer);
      timer = expiryTimer = undefined;
      try {
        await release([...owned.keys()]);
        // Leave the node list too, so the others' fair share becomes everything at once.
        await db.db.deleteFrom('node_heartbeats').where('node_id', '=', nodeId).execute();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'partition leases not released at stop; they lapse after their TTL');
      }
    },
  };
  return manager;
}
