import type { Logger } from 'pino';
import type { ParsedTopic } from '../../protocol/index.js';
import type { Ingest } from '../ingest/ingest.js';
import type { GatewayIdentity } from '../registry.js';

/**
 * Last Wills of a dead hub node's gateways (cluster, issue 18). When a node is killed, no disconnect
 * is logged for its gateways; aedes on the surviving nodes publishes their wills from Redis once the
 * node has been silent for 3 broker heartbeats. A gateway that moved meanwhile has a newer connection
 * (its old will is stale and dropped: sessions.ts); but a node that was only cut from Redis looks dead
 * too while its gateways are alive and still delivering through it. So the will is not believed at
 * once: after `graceMs`, it is ingested (the gateway shown offline on every screen) only if nothing was
 * heard from the gateway since it was announced, neither status nor connection, on any node. A
 * gateway that never comes back is thus shown offline, and a live one never.
 */
export interface OrphanWillsDeps {
  ingest: Pick<Ingest, 'handle'>;
  /** When this node last heard the gateway (status or connection, from any node through the log), by its own clock; undefined if never. */
  lastHeard(estate: string, gateway: string): number | undefined;
  /** How long a will waits for the gateway to be heard from (config cluster.orphanWillGraceMs). */
  graceMs: number;
  log: Logger;
  now?: () => number;
}

export interface OrphanWills {
  /** A will aedes published for a connection of another node (no client here). */
  announced(who: GatewayIdentity, topic: ParsedTopic, payload: Buffer): void;
  /** Wills waiting out their grace (tests, /metrics). */
  pending(): number;
  stop(): void;
}

export function createOrphanWills(deps: OrphanWillsDeps): OrphanWills {
  const now = deps.now ?? Date.now;
  const waiting = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  return {
    announced(who, topic, payload) {
      if (stopped || topic.kind !== 'status') return;
      const key = `${who.estate}/${who.gateway}`;
      // A second will for the same gateway (another node announcing it too) starts no second wait.
      if (waiting.has(key)) return;
      const at = now();
      deps.log.info({ ...who, graceMs: deps.graceMs }, 'Last Will of a gateway on a silent hub node: shown offline unless it is heard from within the grace');
      const timer = setTimeout(() => {
        waiting.delete(key);
        if (stopped) return;
        const heard = deps.lastHeard(who.estate, who.gateway);
        if (heard !== undefined && heard > at) {
          deps.log.info({ ...who }, 'Last Will of a silent node dropped: the gateway was heard from since');
          return;
        }
        deps.ingest.handle(who, topic, payload).then(
          (verdict) => deps.log.info({ ...who, verdict: verdict.action }, 'Last Will of a silent node ingested: the gateway was not heard from'),
          (err: unknown) => deps.log.warn({ err, ...who }, 'Last Will of a silent node not ingested'),
        );
      }, deps.graceMs);
      timer.unref();
      waiting.set(key, timer);
    },
    pending: () => waiting.size,
    stop() {
      stopped = true;
      for (const t of waiting.values()) clearTimeout(t);
      waiting.clear();
    },
  };
}
