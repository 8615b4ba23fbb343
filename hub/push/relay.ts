import type { createAdapter as CreateAdapter } from '@socket.io/redis-streams-adapter';
import { lazyRequire } from '../../lib/lazy.js';
import type { Logger } from 'pino';

// Loaded by a cluster node only (lib/lazy.ts).
const ioredis = lazyRequire<typeof import('ioredis')>('ioredis');
const adapterModule = lazyRequire<typeof import('@socket.io/redis-streams-adapter')>('@socket.io/redis-streams-adapter');

/**
 * Socket.IO across the nodes of a hub cluster (issue 18 item 5): `@socket.io/redis-streams-adapter`
 * on an ioredis 5 client. Room broadcasts of the adapter (`session:revoked`, `disconnectSockets`)
 * reach every node's sockets; pushed envelopes travel as one server-side message per commit
 * (hub/push/push.ts), and each node emits them to its own sockets only, in sequence (hub/push/order.ts).
 *
 * Redis holds nothing that cannot be rebuilt: while it is away a node keeps serving its own sockets
 * and replays from the push log; what the other nodes' sockets missed is read back from the push log
 * when Redis is back (`onBack`) or at the next envelope of the scope, and a reconnecting client gets
 * it by `since` anyway.
 */
export interface PushRelay {
  /** The adapter factory for `io.adapter(…)`. */
  readonly adapter: ReturnType<typeof CreateAdapter>;
  /** Redis answers now (publishing while it does not would only queue stale messages in memory). */
  up(): boolean;
  /** Called when Redis is back after it was lost (a moment later, once the adapter subscribed again). */
  onBack(fn: () => void): void;
  close(): Promise<void>;
}

export interface PushRelayOptions {
  url: string;
  log: Logger;
  /** Wait after Redis is back before `onBack` (ms); default 1,000. */
  backDelayMs?: number;
}

export function createPushRelay(opts: PushRelayOptions): PushRelay {
  const { log } = opts;
  // maxRetriesPerRequest null: a command waits for the reconnect instead of failing after 20 tries.
  // The adapter duplicates this client for its subscriber and its stream reader; a subscription that
  // failed while Redis was away at start would never be made again.
  const { Redis } = ioredis();
  const redis = new Redis(opts.url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    connectionName: 'rb-push',
  });
  // The adapter sends server-side messages with PUBLISH and drops the promise: a PUBLISH that fails
  // (the connection closed at shutdown) would be an unhandled rejection, which ends the process.
  const publish = redis.publish.bind(redis) as (...args: unknown[]) => Promise<number>;
  (redis as unknown as { publish: (...args: unknown[]) => Promise<number> }).publish = (...args: unknown[]) => {
    const p = publish(...args);
    p.catch((err: unknown) => log.debug({ err }, 'push relay publish failed'));
    return p;
  };
  let lost = false;
  let closed = false;
  const backs: Array<() => void> = [];
  let backTimer: NodeJS.Timeout | undefined;
  redis.on('error', (err: Error) => {
    if (!lost) log.warn({ err: err.message }, 'push relay: redis error');
  });
  redis.on('close', () => {
    if (closed || lost) return;
    lost = true;
    log.warn('push relay: redis lost; this node serves its own sockets only until it is back');
  });
  redis.on('ready', () => {
    if (!lost) return;
    lost = false;
    log.info('push relay: redis back');
    clearTimeout(backTimer);
    backTimer = setTimeout(() => {
      for (const fn of backs) fn();
    }, opts.backDelayMs ?? 1000);
    backTimer.unref();
  });
  // blockTimeInMs: how long the stream reader may outlive close() (it checks between reads).
  const adapter = adapterModule().createAdapter(redis, { streamName: 'rb:push', channelPrefix: 'rb:push', blockTimeInMs: 1000 });
  return {
    adapter,
    up: () => redis.status === 'ready',
    onBack(fn) {
      backs.push(fn);
    },
    async close() {
      closed = true;
      clearTimeout(backTimer);
      redis.disconnect();
    },
  };
}
