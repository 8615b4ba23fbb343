import type { Logger } from 'pino';
import type { Bus } from './bus.js';
import type { Registry } from './registry.js';

export interface RegistrySyncDeps {
  registry: Registry;
  bus: Bus;
  /** Close one gateway's MQTT connection (the broker's `disconnect`). */
  disconnect: (estate: string, gateway: string) => void;
  /** Close a revoked gateway's connection and free its retained status (the broker's `revoke`). */
  revoke: (estate: string, gateway: string) => Promise<void>;
  log: Logger;
  /** How often to look for changes written by another process (the CLI); default 1 s. */
  pollMs?: number;
}

/**
 * Keeps the registry and the running hub in step:
 * - devices: every gateway status (announce, heartbeat, LWT) updates the `devices` table;
 * - credentials: a rotate or revoke (REST in this process at once, CLI in another process within
 *   `pollMs`) closes the gateway's connection; its reconnect then meets the new registry state. A
 *   revoke also frees the retained status the broker kept for the gateway.
 */
export function startRegistrySync(deps: RegistrySyncDeps): () => void {
  const { registry, bus, log } = deps;
  const offStatus = bus.on('gateway.status', (status) => {
    registry.recordStatus(status).catch((err: unknown) => log.error({ err, estate: status.estate, gateway: status.gateway }, 'devices of a gateway status not stored'));
  });
  const offChanges = registry.watchChanges((change) => {
    if (change.kind === 'add') return;
    const { estate, gateway } = change;
    log.info({ estate, gateway, change: change.kind }, 'gateway credentials changed; closing its connection');
    if (change.kind !== 'revoke') return deps.disconnect(estate, gateway);
    deps.revoke(estate, gateway).catch((err: unknown) => log.error({ err, estate, gateway }, 'retained status of a revoked gateway not cleared'));
  }, deps.pollMs);
  return () => {
    offStatus();
    offChanges();
  };
}
