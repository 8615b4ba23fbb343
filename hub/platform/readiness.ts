import { sql } from 'kysely';
import type { HubDatabase } from './db/index.js';
import { redisPing } from './redis-ping.js';

/** One dependency's answer: whether it answered in time, how long it took, and why not. */
export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

/** The `/readyz` body: `ready` only when every configured dependency is ok. */
export interface Readiness {
  ready: boolean;
  node: string;
  checks: { database: CheckResult; redis?: CheckResult };
  /** Cluster (PostgreSQL): how many of the 64 partitions this node owns now (docs/cluster.md, "Ownership"). */
  partitions?: number;
}

export interface ReadinessDeps {
  db: HubDatabase;
  nodeId: string;
  version: string;
  /** `cluster.redisUrl`; unset = no Redis check. */
  redisUrl?: string | undefined;
  /** Partitions owned now (cluster); reported, not a condition: a node that owns none still ingests. */
  partitions?: () => number;
  /** Longest wait for each dependency (issue 18: 2 s). */
  timeoutMs?: number;
  now?: () => number;
}

const DEFAULT_TIMEOUT_MS = 2000;

/**
 * Whether this hub node can do its job now (issue 18): commit to its database and, in a cluster,
 * reach Redis, each within `timeoutMs`. HAProxy's health check asks `/readyz` and sends gateways and
 * screens elsewhere while it answers 503.
 *
 * The database check is a real commit: an UPSERT of this node's `node_heartbeats` row in a
 * transaction, because a `SELECT 1` succeeds on a server that cannot write (disk full, a standby, a
 * lock held). A hung PostgreSQL (SIGSTOP, a cut network) never answers, so the wait is bounded here
 * and not by the driver; and one check at a time is in flight: while an earlier write still hangs,
 * a new check waits for the same one instead of taking another pooled connection each time the
 * balancer asks (a balancer polling every 2 s would otherwise drain the pool that ingest needs).
 */
export function createReadiness(deps: ReadinessDeps): { check(): Promise<Readiness> } {
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = deps.now ?? Date.now;
  let inflight: Promise<void> | undefined;

  const commit = (): Promise<void> =>
    deps.db.transaction(async (trx) => {
      // Server-side bound as well, so a statement stuck on a lock ends and frees its connection.
      if (deps.db.dialect === 'postgres') await sql`SET LOCAL statement_timeout = ${sql.lit(timeoutMs)}`.execute(trx);
      await trx
        .insertInto('node_heartbeats')
        .values({ node_id: deps.nodeId, beat_at: now(), version: deps.version })
        .onConflict((oc) => oc.column('node_id').doUpdateSet((eb) => ({ beat_at: eb.ref('excluded.beat_at'), version: eb.ref('excluded.version') })))
        .execute();
    });

  const timed = async (what: () => Promise<true | string | void>): Promise<CheckResult> => {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs)));
    try {
      const result = await Promise.race([what().then((r) => r ?? true, (err: unknown) => (err as Error).message || String(err)), timeout]);
      const ms = Math.round(performance.now() - started);
      return result === true ? { ok: true, ms } : { ok: false, ms, error: result };
    } finally {
      clearTimeout(timer);
    }
  };

  const database = (): Promise<CheckResult> =>
    timed(() => {
      inflight ??= commit().finally(() => (inflight = undefined));
      return inflight;
    });

  return {
    async check() {
      const [db, redis] = await Promise.all([database(), deps.redisUrl ? timed(() => redisPing(deps.redisUrl!, timeoutMs)) : undefined]);
      return {
        ready: db.ok && (redis?.ok ?? true),
        node: deps.nodeId,
        checks: { database: db, ...(redis ? { redis } : {}) },
        ...(deps.partitions ? { partitions: deps.partitions() } : {}),
      };
    },
  };
}
