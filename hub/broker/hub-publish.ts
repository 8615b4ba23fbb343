import type { Aedes } from 'aedes';
import type { Logger } from 'pino';
import type { GatewayIdentity } from '../registry.js';
import type { BrokerCluster } from './cluster.js';
import { RbError } from '../errors.js';

/** What a refused hub publish carries as its RbError's `details`: `false` = nothing left this node; `maybe` = it may still arrive. */
export interface PublishRefusal {
  sent: false | 'maybe';
}

/** A publish that failed for sure: nothing was sent, so nothing can reach the gateway (a command can be failed at once). */
export const nothingSent = (err: unknown): boolean => err instanceof RbError && (err.details as Partial<PublishRefusal> | undefined)?.sent === false;

export interface HubPublishDeps {
  /** The running broker (undefined before start). */
  aedes(): Aedes | undefined;
  cluster?: BrokerCluster;
  /** Longest wait for a hub publish to reach Redis (cluster only). */
  publishTimeoutMs: number;
  log: Logger;
}

export interface HubPublish {
  /** Publish from the hub itself (commands, a retained clear); see Broker.publish. */
  publish(packet: { topic: string; payload: Buffer; qos: 0 | 1; retain: boolean }): Promise<void>;
  /** Redis is back for this node's subscriber: send the connected gateways what their sessions queued. */
  redeliver(): void;
}

type Clients = Record<string, { rb?: GatewayIdentity; closed?: boolean; clean?: boolean }>;

/**
 * The hub's own publishes (hub/broker/broker.ts): alone, straight into aedes; in a cluster, through
 * Redis (cluster.ts), refused at once while Redis is away, bounded while it hangs, and answered only
 * once it is known to have reached a node or a session.
 */
export function createHubPublish(deps: HubPublishDeps): HubPublish {
  const { cluster, log } = deps;
  return {
    publish(packet) {
      return new Promise((resolve, reject) => {
        const aedes = deps.aedes();
        if (!aedes) return reject(new Error('broker not started'));
        const refused = cluster?.refusal(packet.topic);
        if (refused) return reject(refused);
        const timer = cluster?.deadline(packet.topic, reject, deps.publishTimeoutMs);
        cluster?.track(packet.payload);
        aedes.publish({ cmd: 'publish', dup: false, ...packet }, (err) => {
          if (err || !cluster || packet.qos === 0) {
            clearTimeout(timer);
            return err ? reject(err) : resolve();
          }
          // Published is not delivered: Redis gives a message only to the connections subscribed at that
          // moment. It reached the gateway's node (`received`), or waits in the gateway's session
          // (`queued`: sent when it connects, or by its node once that node has subscribed again,
          // redeliver()); else it went nowhere, and nothing of it can arrive.
          void cluster.reach(packet.payload).then(({ received, queued }) => {
            clearTimeout(timer);
            if (received > 0 || queued > 0) return resolve();
            reject(cluster.unreached(packet.topic));
          });
        });
      });
    },

    /**
     * This node's subscriber connection to Redis is back (cluster): what another node published for
     * the gateways connected here while it was away reached no subscriber here, but aedes queued it in
     * their sessions (QoS 1). Send each connected gateway what its session holds; what it already got
     * is skipped (aedes's per-node counter, `dedupe`), the rest goes as at a reconnect.
     */
    redeliver() {
      const aedes = deps.aedes();
      const clients = (aedes as unknown as { clients?: Clients } | undefined)?.clients ?? {};
      const persistence = (aedes as unknown as { persistence: { outgoingStream(c: object): AsyncIterable<object> } } | undefined)?.persistence;
      if (!persistence) return;
      for (const client of Object.values(clients)) {
        if (!client.rb || client.closed || client.clean) continue;
        const deliver = (client as unknown as { deliverQoS(p: object, cb: () => void): void }).deliverQoS;
        void (async () => {
          let sent = 0;
          for await (const p of persistence.outgoingStream(client)) {
            deliver(p, () => undefined);
            sent++;
          }
          if (sent > 0) log.info({ ...client.rb, queued: sent }, 'Redis back: the session\'s queued messages sent to the gateway');
        })().catch((err: unknown) => log.warn({ ...client.rb, err: (err as Error).message }, 'Redis back: the session\'s queue not read'));
      }
    },
  };
}
