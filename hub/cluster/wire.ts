import type { Logger } from 'pino';
import type { BrokerDeps } from '../broker/broker.js';
import { openBrokerCluster } from '../broker/cluster.js';
import { createOrphanWills, type OrphanWillsDeps } from '../broker/orphans.js';
import type { HubConfig } from '../config.js';
import type { LogFeedOptions } from '../eventlog/index.js';
import type { Metrics } from '../metrics.js';
import { parseDuration } from '../people/tokens.js';
import type { HubDatabase } from '../platform/db/index.js';
import { VERSION } from '../../lib/version.js';
import { createLeaseManager, soleOwnership, type LeaseManager, type Ownership } from './leases.js';

/**
 * Who owns which estates' work (composition, for hub/main.ts; docs/cluster.md): on PostgreSQL every
 * node takes partition leases (one node alone takes all 64), and the log feed reads its partitions
 * across nodes; the embedded hub owns everything.
 */
export function wireOwnership(deps: { config: HubConfig; hubDb: HubDatabase; metrics: Metrics; log: Logger }): {
  leases: LeaseManager | undefined;
  ownership: Ownership;
  /** The log feed's cluster options (none for one node). */
  feedCluster: Pick<LogFeedOptions, 'cluster'>;
} {
  const { config, hubDb, metrics, log } = deps;
  const leases: LeaseManager | undefined =
    hubDb.dialect === 'postgres'
      ? createLeaseManager({ db: hubDb, nodeId: config.cluster.nodeId, version: VERSION, ttlMs: parseDuration(config.cluster.leaseTtl), url: config.db.url, log: log.child({ module: 'hub.cluster' }), registry: metrics.registry })
      : undefined;
  const ownership: Ownership = leases ?? soleOwnership();
  const feedCluster = ownership.clustered && config.db.url ? { cluster: { ownership, nodeId: config.cluster.nodeId, url: config.db.url } } : {};
  return { leases, ownership, feedCluster };
}

/**
 * The MQTT broker's part of the cluster (composition, for hub/main.ts): with `cluster.redisUrl`, its
 * Redis link, heartbeat and the wills of a dead node's gateways, believed only if the gateway stays
 * silent (hub/broker/orphans.ts); "heard" from the live state, which every node keeps for every estate.
 */
export function wireBrokerCluster(deps: { config: HubConfig; ingest: OrphanWillsDeps['ingest']; lastHeard: OrphanWillsDeps['lastHeard']; log: Logger }): {
  orphanWills: ReturnType<typeof createOrphanWills>;
  /** Spread into the broker's deps (none without Redis). */
  brokerCluster: Pick<BrokerDeps, 'cluster' | 'heartbeatMs' | 'orphanWills'>;
} {
  const { config, log } = deps;
  const orphanWills = createOrphanWills({ ingest: deps.ingest, graceMs: config.cluster.orphanWillGraceMs, lastHeard: deps.lastHeard, log: log.child({ module: 'hub.broker' }) });
  const brokerCluster = config.cluster.redisUrl
    ? { cluster: openBrokerCluster(config.cluster.redisUrl, log.child({ module: 'hub.broker.redis' })), heartbeatMs: config.cluster.brokerHeartbeatMs, orphanWills }
    : {};
  return { orphanWills, brokerCluster };
}
