import type { GatewayStatus } from '../protocol/index.js';
import type { Driver, DriverFactory } from '../devices/types.js';
import { VERSION } from '../lib/version.js';
import type { Outbox } from './outbox.js';
import type { Uplink } from './uplink.js';

export interface StatusSources {
  estate: string;
  gateway: string;
  startedAt: number;
  /** The running devices, their configured names and the cameras linked to each. */
  devices: ReadonlyMap<string, { driver: Driver; factory: DriverFactory }>;
  names: ReadonlyMap<string, string>;
  cameras: ReadonlyMap<string, string[]>;
  outbox: Pick<Outbox, 'stats'>;
  uplink: Pick<Uplink, 'stats'>;
  pressureActive: () => boolean;
  /** The edge's own warnings are configured (a local modem). */
  edgeSms?: boolean;
}

/**
 * The gateway status message (docs/protocol.md, "Gateway status"), built from what the gateway
 * runs now: each device's health with its kind, name and linked cameras (at most 16), the outbox
 * and the uplink. The hub keeps the latest as the retained message of the status topic.
 */
export function buildStatus(src: StatusSources, reason: GatewayStatus['reason'], state: GatewayStatus['state'] = 'online', now = Date.now()): GatewayStatus {
  const health: NonNullable<GatewayStatus['devices']> = {};
  for (const [id, { driver, factory }] of src.devices) {
    const name = src.names.get(id);
    const cameras = src.cameras.get(id);
    health[id] = { ...driver.health(), kind: factory.kind, ...(name ? { name } : {}), ...(cameras?.length ? { cameras: cameras.slice(0, 16) } : {}) };
  }
  const o = src.outbox.stats();
  const u = src.uplink.stats();
  return {
    v: 1,
    estate: src.estate,
    gateway: src.gateway,
    state,
    ts: now,
    reason,
    version: VERSION,
    uptimeS: Math.round((now - src.startedAt) / 1000),
    devices: health,
    outbox: {
      depth: o.depth,
      alarms: o.alarms,
      bytes: o.bytes,
      oldestAgeS: o.oldestAppendedAt === null ? null : Math.max(0, (now - o.oldestAppendedAt) / 1000),
      droppedTotal: o.droppedTotal,
      droppedSinceStart: o.droppedSinceStart,
      pressure: src.pressureActive(),
    },
    lastHubContact: u.lastHubContact,
    reconnects: u.reconnects,
    ...(src.edgeSms ? { edge: { sms: true } } : {}),
  };
}
