import type { Redis, RedisOptions } from 'ioredis';
import type MQEmitterRedisModule from 'mqemitter-redis';
import type { Logger } from 'pino';
import { lazyRequire } from '../../lib/lazy.js';
import { RbError } from '../errors.js';
import type { PublishRefusal } from './hub-publish.js';

/** The part of an aedes persistence the hub calls itself (aedes calls the rest). */
interface ClosablePersistence {
  destroy(): Promise<void>;
}
// Loaded by a cluster node only (lib/lazy.ts). No typings ship with aedes-persistence-redis; aedes
// takes it as an opaque persistence object.
const redisPersistence = lazyRequire<(opts: { conn: Redis }) => ClosablePersistence>('aedes-persistence-redis');
const ioredis = lazyRequire<typeof import('ioredis')>('ioredis');
const MQEmitterRedis = lazyRequire<typeof MQEmitterRedisModule>('mqemitter-redis');

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
  /** Why a hub publish that reached no subscriber and no session is refused: nothing of it can arrive. */
  unreached(topic: string): RbError;
  /** Reject a hub publish still waiting on Redis after `ms` (clear the timer when it completes). */
  deadline(topic: string, reject: (err: RbError) => void, ms: number): NodeJS.Timeout;
  /**
   * Follow one hub publish (its payload Buffer, which aedes passes on unchanged) through aedes: call
   * before aedes.publish; `reach` answers after it completed.
   */
  track(payload: Buffer): void;
  /**
   * Where a tracked publish went: `received`, the node connections subscribed to its topic that Redis
   * gave it to (PUBLISH's answer); `queued`, the persistent sessions it was stored for (aedes queues a
   * QoS 1 message for every session subscribed to it, online or not, and a session gets its queue only
   * when it connects).
   */
  reach(payload: Buffer): Promise<{ received: number; queued: number }>;
  /**
   * `listener` runs each time the emitter's subscriber connection is back after a loss and has
   * subscribed again (ioredis re-sends SUBSCRIBE/PSUBSCRIBE as it reconnects; a PING answered after
   * them says they are done). What other nodes published meanwhile went to no subscriber here.
   */
  onResubscribed(listener: () => void): void;
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
  const { Redis } = ioredis();
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
  const resubscribed = new Set<() => void>();
  let subLost = false;
  conns.sub.on('reconnecting', () => (subLost = true));
  conns.sub.on('ready', () => {
    if (!subLost || closing) return;
    subLost = false;
    // 'ready' is emitted before ioredis re-sends the subscriptions in the same turn: the PING goes after them.
    setImmediate(() => {
      conns.sub.ping().then(
        () => {
          for (const f of resubscribed) f();
        },
        () => undefined,
      );
    });
  });
  const mq = MQEmitterRedis()({ pubConn: conns.pub, subConn: conns.sub });
  // mqemitter-redis re-emits its connections' errors on `state`; unheard, they would end the process.
  (mq as unknown as { state: { on(e: 'error', f: (err: Error) => void): void } }).state.on('error', () => undefined);
  const persistence = redisPersistence()({ conn: conns.store });
  const ready = (): boolean => Object.values(conns).every((c) => c.status === 'ready');
  // What became of the hub's own publishes (commands): a PUBLISH that no node's subscriber connection
  // received is lost (Redis pub/sub keeps nothing). Observed after Redis came back empty: node A took
  // a command while the node holding the gateway had not subscribed on the new Redis yet, and it was
  // answered 202 but never arrived.
  const tracked = new WeakMap<object, { received: Promise<number>; queued: number }>();
  let emitting: { received: Promise<number>; queued: number } | undefined;
  const pub = conns.pub as unknown as { publish(channel: string, message: Buffer): Promise<number> };
  const publishRaw = pub.publish.bind(pub);
  // mqemitter-redis's emit calls PUBLISH synchronously and drops its answer: kept for a tracked payload.
  pub.publish = (channel, message) => {
    const answer = publishRaw(channel, message);
    if (emitting) emitting.received = answer.catch(() => 0);
    return answer;
  };
  const emitter = mq as unknown as { emit(msg: { payload?: unknown }, done?: (err?: Error) => void): unknown };
  const emitRaw = emitter.emit.bind(emitter);
  emitter.emit = (msg, done) => {
    emitting = msg.payload && typeof msg.payload === 'object' ? tracked.get(msg.payload) : undefined;
    try {
      return emitRaw(msg, done);
    } finally {
      emitting = undefined;
    }
  };
  const store = persistence as unknown as { outgoingEnqueueCombi(subs: unknown[] | undefined, packet: { payload?: unknown }): Promise<void> };
  const enqueueRaw = store.outgoingEnqueueCombi.bind(store);
  store.outgoingEnqueueCombi = async (subs, packet) => {
    await enqueueRaw(subs, packet);
    const t = packet.payload && typeof packet.payload === 'object' ? tracked.get(packet.payload) : undefined;
    if (t) t.queued += subs?.length ?? 0;
  };
  return {
    mq,
    persistence,
    ready,
    track: (payload) => void tracked.set(payload, { received: Promise.resolve(0), queued: 0 }),
    onResubscribed: (listener) => void resubscribed.add(listener),
    async reach(payload) {
      const t = tracked.get(payload);
      return t ? { received: await t.received, queued: t.queued } : { received: 0, queued: 0 };
    },
    // Without Redis a command reaches no other node and would wait in ioredis's queue: say so at once.
    refusal: (topic) => (ready() ? undefined : new RbError('RB_ERR_CLUSTER_UNAVAILABLE', `the cluster's Redis (cluster.redisUrl) is unreachable; nothing was sent on ${topic}`, { sent: false } satisfies PublishRefusal)),
    unreached: (topic) =>
      new RbError('RB_ERR_CLUSTER_UNAVAILABLE', `no hub node took it from the cluster's Redis (cluster.redisUrl) and no session keeps it (a node not subscribed again yet after Redis came back); nothing was sent on ${topic}`, { sent: false } satisfies PublishRefusal),
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
