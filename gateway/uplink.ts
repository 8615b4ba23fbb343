import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { DELIVERY, topics, type GatewayStatus } from '../protocol/index.js';
import type { Outbox } from './outbox.js';

export interface UplinkOptions {
  estate: string;
  gateway: string;
  url: string;
  username: string;
  password: string;
  keepaliveS: number;
  outbox: Outbox;
  log: Logger;
  /** Most events published and not yet acknowledged at once. */
  maxInflight?: number;
  /** Reconnect backoff: first delay and cap, ms. Full jitter is applied to each delay. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** Called on every (re)connection, e.g. to publish a fresh status. */
  onConnect?: () => void;
}

export interface Uplink {
  start(): Promise<void>;
  /** Publish `finalStatus` (retained) if connected, then disconnect cleanly. */
  stop(finalStatus?: GatewayStatus): Promise<void>;
  publishStatus(status: GatewayStatus): Promise<void>;
  /** Ask the pump to look at the outbox (after an append). */
  kick(): void;
  connected(): boolean;
  stats(): { inflight: number; reconnects: number; published: number; acked: number };
}

/**
 * The MQTT link to the hub. Events are read from the outbox and published at QoS 1; an event leaves the
 * outbox only when its PUBACK arrives, so a crash or a cut link re-sends it (the hub deduplicates by id).
 */
export function createUplink(opts: UplinkOptions): Uplink {
  const { outbox, log } = opts;
  const maxInflight = opts.maxInflight ?? 200;
  const backoffMin = opts.backoffMinMs ?? 500;
  const backoffMax = opts.backoffMaxMs ?? 30_000;
  const inflight = new Set<string>();
  let client: MqttClient | undefined;
  let stopping = false;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let pumping = false;
  const counters = { reconnects: 0, published: 0, acked: 0 };

  const lwt: GatewayStatus = { v: 1, estate: opts.estate, gateway: opts.gateway, state: 'offline', ts: Date.now(), reason: 'lwt' };

  function pump(): void {
    if (pumping || !client?.connected || stopping) return;
    pumping = true;
    try {
      while (inflight.size < maxInflight) {
        const batch = outbox.pending(Math.min(100, maxInflight - inflight.size), inflight);
        if (batch.length === 0) break;
        for (const event of batch) {
          inflight.add(event.id);
          counters.published++;
          const topic = topics.event(event.estate, event.gateway, event.device);
          client.publish(topic, JSON.stringify(event), DELIVERY.event, (err) => {
            inflight.delete(event.id);
            if (err) {
              // Not acknowledged: it stays in the outbox and goes out again on the next pump.
              log.debug({ err, id: event.id }, 'publish not acknowledged');
            } else {
              counters.acked++;
              outbox.remove(event.id);
            }
            setImmediate(pump);
          });
        }
      }
    } finally {
      pumping = false;
    }
  }

  function scheduleReconnect(): void {
    if (stopping || reconnectTimer) return;
    // Exponential backoff with full jitter, so 500 gateways coming back after a hub restart spread out.
    const ceiling = Math.min(backoffMax, backoffMin * 2 ** Math.min(attempt, 16));
    const delay = Math.round(backoffMin / 2 + Math.random() * (ceiling - backoffMin / 2));
    attempt++;
    log.info({ delayMs: delay, attempt }, 'reconnecting to hub');
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      if (!stopping) client?.reconnect();
    }, delay);
  }

  return {
    async start() {
      client = mqtt.connect(opts.url, {
        clientId: `rb-${opts.estate}-${opts.gateway}`,
        username: opts.username,
        password: opts.password,
        clean: false, // persistent session: commands queued while we were away still arrive
        keepalive: opts.keepaliveS,
        reconnectPeriod: 0, // we reconnect ourselves, with backoff and jitter
        connectTimeout: 10_000,
        protocolVersion: 4,
        will: {
          topic: topics.status(opts.estate, opts.gateway),
          payload: Buffer.from(JSON.stringify(lwt)),
          qos: DELIVERY.status.qos,
          retain: DELIVERY.status.retain,
        },
      });
      client.on('connect', () => {
        attempt = 0;
        log.info({ url: opts.url }, 'connected to hub');
        // The previous socket's in-flight publishes are re-sent by mqtt.js from its own store; what it
        // could not keep returns to us through the publish callback's error and is pumped again.
        opts.onConnect?.();
        pump();
      });
      client.on('close', () => {
        if (!stopping) {
          counters.reconnects++;
          scheduleReconnect();
        }
      });
      client.on('error', (err) => log.warn({ err: err.message }, 'hub connection error'));
      client.on('packetsend', (p) => {
        if (p.cmd === 'connect') log.debug('connecting to hub');
      });
    },
    async stop(finalStatus) {
      stopping = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      const c = client;
      if (!c) return;
      if (finalStatus && c.connected) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 2000);
          c.publish(topics.status(opts.estate, opts.gateway), JSON.stringify(finalStatus), DELIVERY.status, () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      await c.endAsync(false).catch(() => undefined);
    },
    async publishStatus(status) {
      if (!client?.connected) return;
      await client
        .publishAsync(topics.status(opts.estate, opts.gateway), JSON.stringify(status), DELIVERY.status)
        .catch((err: Error) => log.warn({ err: err.message }, 'status publish failed'));
    },
    kick: () => pump(),
    connected: () => Boolean(client?.connected),
    stats: () => ({ inflight: inflight.size, ...counters }),
  };
}
