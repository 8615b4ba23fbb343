import { createRequire } from 'node:module';
import { Redis, type RedisOptions } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import type { Logger } from 'pino';
import { RbError } from '../errors.js';
import type { PublishRefusal } from './broker.js';

const require = createRequire(import.meta.url);

/** The part of an aedes persistence the hub calls itself (aedes calls the rest). */
interface ClosablePersistence {
  destroy(): Promise<void>;
}
// No typings ship with it; aedes takes it as an opaque persistence object.
const redisPersistence = require('aedes-persistence-redis') as (opts: { conn: Redis }) => ClosablePersistence;

/**
 * What aedes needs to be one broker across hub nodes (issue 18): `mqemitter-redis` as its emitter
 * (a PUBLISH on node A reaches the subscribers connected to node B through Redis pub/sub) and
 * `aedes-persistence-redis` as its persistence (sessions, subscriptions, wills, QoS 1 messages waiting
 * for a gateway that is between nodes), on `cluster.redisUrl`.
 *
 * aedes-persistence-redis is pinned to 11.2.x: aedes 1.2 declares the peer range `^11.2.1`, and 12.x
 * is outside it (docs/cluster.md).
 *
 * Redis holds nothing the hub cannot rebuild: events, statuses and command rows are in PostgreSQL.
 * Redis away, the hub's own publishes (commands) answer at once that it is away (`ready()`), and
 * gateways already connected keep being ingested (broker.ts never routes their PUBLISHes through aedes
 * in this mode).
 */
export interface BrokerCluster {
  /** aedes's `mq` option. */
  readonly mq: unknown;
  /** aedes's `persistence` option. */
  readonly persistence: unknown;
  /** Every Redis connection of the broker is up now. */
  ready(): boolean;
  /** Why a hub publish on `topic` is refused now (Redis away), or undefined. */
  refusal(topic: string): RbError | undefined;
  /** Reject a hub publish still waiting on Redis after `ms` (clear the timer when it completes). */
  deadline(topic: string, reject: (err: RbError) => void, ms: number): NodeJS.Timeout;
  /** Quit the Redis connections (after aedes.close(), which closes the emitter's). */
  close(): Promise<void>;
}

export function openBrokerCluster(redisUrl: string, log: Logger): BrokerCluster {
  const options: RedisOptions = {
    // Reconnect for ever, at most every 2 s; a command sent while it is away waits in ioredis's queue
    // (the hub bounds its own waits, commands answer 503 first: see ready()).
    retryStrategy: (times) => Math.min(times * 100, 2_000),
    lazyConnect: false,
  };
  const conns = { pub: new Redis(redisUrl, options), sub: new Redis(redisUrl, options), store: new Redis(redisUrl, options) };
  let closing = false;
  let closed: Promise<void> | undefined;
  let down = false;
  for (const [role, conn] of Object.entries(conns)) {
    // An 'error' without a listener would be printed by ioredis on every reconnect attempt; one line
    // per outage is enough.
    conn.on('error', (err: Error) => {
      if (closing || down) return;
      down = true;
      log.warn({ role, err: err.message }, 'Redis of the cluster unreachable (cluster.redisUrl); commands answer 503 until it is back');
    });
    conn.on('ready', () => {
      if (down && Object.values(conns).every((c) => c.status === 'ready')) {
        down = false;
        log.info('Redis of the cluster reachable again');
      }
    });
  }
  const mq = MQEmitterRedis({ pubConn: conns.pub, subConn: conns.sub });
  // mqemitter-redis re-emits its connections' errors on `state`; unheard, they would end the process.
  (mq as unknown as { state: { on(e: 'error', f: (err: Error) => void): void } }).state.on('error', () => undefined);
  const persistence = redisPersistence({ conn: conns.store });
  const ready = (): boolean => Object.values(conns).every((c) => c.status === 'ready');
  return {
    mq,
    persistence,
    ready,
    // Without Redis a command reaches no other node and would wait in ioredis's queue: say so at once.
    refusal: (topic) => (ready() ? undefined : new RbError('RB_ERR_CLUSTER_UNAVAILABLE', `the cluster's Redis (cluster.redisUrl) is unreachable; nothing was sent on ${topic}`, { sent: false } satisfies PublishRefusal)),
    // A Redis that hangs (connected, not answering) may still take it later; the gateway refuses a
    // command past its expiry, and the error says so.
    deadline: (topic, reject, ms) =>
      setTimeout(() => reject(new RbError('RB_ERR_CLUSTER_UNAVAILABLE', `the cluster's Redis (cluster.redisUrl) did not answer in ${ms} ms; what was sent on ${topic} may still arrive until it expires`, { sent: 'maybe' } satisfies PublishRefusal)), ms),
    close() {
      return (closed ??= shut());
    },
  };
  async function shut(): Promise<void> {
    closing = true;
    // Its broadcast unsubscribes on the emitter aedes already closed: bounded, it must not hold the stop.
    await Promise.race([persistence.destroy().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
    for (const c of Object.values(conns)) c.disconnect();
  }
}
