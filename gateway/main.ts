import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { GatewayStatus, RbEvent } from '../protocol/index.js';
import { driverRegistry } from '../devices/registry.js';
import type { DraftEvent, Driver } from '../devices/types.js';
import type { GatewayConfig } from './config.js';
import { randomEventId, stableEventId } from './event-id.js';
import { createMemoryOutbox, type Outbox } from './outbox.js';
import { createPushServer } from './push-server.js';
import { createUplink, type Uplink } from './uplink.js';
import { VERSION } from '../lib/version.js';

export interface GatewayDeps {
  config: GatewayConfig;
  log: Logger;
  /** Defaults to the in-memory outbox. */
  outbox?: Outbox;
  /** Uplink tuning for tests (backoff, inflight). */
  uplink?: { backoffMinMs?: number; backoffMaxMs?: number; maxInflight?: number };
}

export interface Gateway {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Where devices push to (the real port when configured as 0). */
  pushAddress(): { host: string; port: number };
  status(): GatewayStatus;
  readonly outbox: Outbox;
  readonly uplink: Uplink;
}

/** Composition root of the gateway: the only place that builds its services. */
export function createGateway(deps: GatewayDeps): Gateway {
  const { config, log } = deps;
  const startedAt = Date.now();
  const outbox = deps.outbox ?? createMemoryOutbox();
  const push = createPushServer({
    host: config.devicePush.host,
    port: config.devicePush.port,
    maxBodyBytes: config.devicePush.maxBodyBytes,
    requestTimeoutMs: config.devicePush.requestTimeoutMs,
    log: log.child({ module: 'gateway.push' }),
  });
  const drivers = new Map<string, Driver>();
  let heartbeat: NodeJS.Timeout | undefined;

  const hash = (value: string): string =>
    createHmac('sha256', config.privacy.salt).update(value, 'utf8').digest('hex').slice(0, 32);

  function status(reason: GatewayStatus['reason'], state: GatewayStatus['state'] = 'online'): GatewayStatus {
    const devices: NonNullable<GatewayStatus['devices']> = {};
    for (const [id, driver] of drivers) devices[id] = driver.health();
    return {
      v: 1,
      estate: config.estate,
      gateway: config.gateway,
      state,
      ts: Date.now(),
      reason,
      version: VERSION,
      uptimeS: Math.round((Date.now() - startedAt) / 1000),
      devices,
    };
  }

  const uplink = createUplink({
    estate: config.estate,
    gateway: config.gateway,
    url: config.hub.url,
    username: config.hub.username,
    password: config.hub.password,
    keepaliveS: config.hub.keepaliveS,
    outbox,
    log: log.child({ module: 'gateway.uplink' }),
    ...deps.uplink,
    onConnect: () => void uplink.publishStatus(status('connected')),
  });

  function emitter(device: string) {
    return async (draft: DraftEvent): Promise<void> => {
      // The type is part of the key: a device whose serial counter restarted must not alias another event.
      const key = draft.dedupKey !== undefined ? `${config.estate}/${config.gateway}/${device}/${draft.type}/${draft.dedupKey}` : undefined;
      const event = {
        v: 1,
        id: key ? stableEventId(draft.ts, key) : randomEventId(draft.ts),
        seq: outbox.nextSeq(),
        ts: draft.ts,
        estate: config.estate,
        gateway: config.gateway,
        device,
        type: draft.type,
        data: draft.data,
      } as RbEvent;
      await outbox.append(event);
      uplink.kick();
    };
  }

  return {
    outbox,
    uplink,
    pushAddress: () => push.address(),
    status: () => status('heartbeat'),
    async start() {
      await outbox.start();
      for (const device of config.devices) {
        const factory = driverRegistry.get(device.driver);
        if (!factory) throw new Error(`devices: unknown driver "${device.driver}"`); // config validation prevents this
        const driver = factory.create({
          estate: config.estate,
          gateway: config.gateway,
          device: { id: device.id, driver: device.driver, name: device.name, options: device.options },
          options: factory.options.parse(device.options),
          log: log.child({ module: `driver.${device.driver}`, device: device.id }),
          hash,
          emit: emitter(device.id),
          routes: push.routes,
        });
        drivers.set(device.id, driver);
        await driver.start();
      }
      await push.start();
      await uplink.start();
      heartbeat = setInterval(() => void uplink.publishStatus(status('heartbeat')), config.heartbeatS * 1000);
      heartbeat.unref();
      log.info({ estate: config.estate, gateway: config.gateway, devices: drivers.size, push: push.address() }, 'gateway started');
    },
    async stop() {
      if (heartbeat) clearInterval(heartbeat);
      // Reverse order of start: stop taking pushes, then drivers, then tell the hub, then the outbox.
      await push.stop();
      for (const driver of [...drivers.values()].reverse()) await driver.stop().catch(() => undefined);
      await uplink.stop(status('shutdown', 'offline'));
      await outbox.stop();
      log.info('gateway stopped');
    },
  };
}
