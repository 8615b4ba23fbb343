import { clientIdFor } from '../protocol/index.js';
import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { DELIVERY, topics, type GatewayStatus } from '../protocol/index.js';
import type { Outbox, OutboxCursor } from './outbox.js';

export interface UplinkOptions {
  estate: string;
  gateway: string;
  /** One hub URL, or several separated by commas (`hub.url`): tried in turn, one per (re)connection. */
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
  onConnect?: (sessionPresent: boolean) => void;
  /** The hub acknowledged (PUBACK) the event of this outbox seq. */
  onAck?: (seq: number) => void;
  /** A message on a subscribed topic (commands). */
  onMessage?: (topic: string, payload: Buffer) => void;
  /** Topic filters to (re)subscribe at QoS 1 whenever the broker has no session for us. */
  subscriptions?: string[];
}

/**
 * Reconnect delay for the n-th attempt (from 0): exponential backoff with full jitter, so 500 gateways
 * that lost the hub at the same moment spread their reconnects over the whole window instead of
 * arriving together. Never below min/2, never above max.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(minMs / 2 + random() * (ceiling - minMs / 2));
}

/** Default ports of the URL schemes mqtt.js takes (MQTT 3.1.1 section 4.8 / IANA: 1883, 8883). */
const DEFAULT_PORT: Record<string, number> = { mqtt: 1883, tcp: 1883, mqtts: 8883, tls: 8883 };

/**
 * mqtt.js's `servers` (its kept option for several brokers): each new connection attempt takes the
 * next entry, round-robin; undefined for one URL, which then connects exactly as before.
 */
export function hubServers(url: string): Array<{ host: string; port: number; protocol: 'mqtt' | 'mqtts' }> | undefined {
  const urls = url.split(',').map((u) => u.trim()).filter(Boolean);
  if (urls.length < 2) return undefined;
  return urls.map((u) => {
    const parsed = new URL(u);
    const scheme = parsed.protocol.slice(0, -1);
    // tcp:// and tls:// are mqtt.js's aliases of mqtt:// and mqtts://.
    const protocol = scheme === 'tls' || scheme === 'mqtts' ? 'mqtts' : 'mqtt';
    return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port ? Number(parsed.port) : (DEFAULT_PORT[scheme] ?? 1883), protocol };
  });
}

export interface UplinkStats {
  inflight: number;
  reconnects: number;
  published: number;
  acked: number;
  /** When the hub last answered anything (CONNACK, PUBACK, PINGRESP...), ms since epoch. */
  lastHubContact: number | null;
}

export interface Uplink {
  start(): Promise<void>;
  /** Publish `finalStatus` (retained) if connected, then disconnect cleanly. */
  stop(finalStatus?: GatewayStatus): Promise<void>;
  publishStatus(status: GatewayStatus): Promise<void>;
  /** Publish a non-event message (command result) at QoS 1; mqtt.js queues it while offline. */
  publish(topic: string, payload: string, opts: IClientPublishOptions): Promise<void>;
  /** Ask the pump to look at the outbox (after an append). */
  kick(): void;
  connected(): boolean;
  stats(): UplinkStats;
}

/**
 * The MQTT link to the hub. Events are read from the outbox (alarms first) and published at QoS 1;
 * an event leaves the outbox only when its PUBACK arrives, so a crash or a cut link re-sends it and
 * the hub deduplicates by id.
 *
 * The pump walks the outbox with a cursor per lane instead of re-reading it: each PUBACK costs one
 * indexed read, not a scan. A publish whose callback reports an error moves the cursor back.
 *
 * Every connection is a new *generation*: when a link drops, everything in flight is forgotten and the
 * cursors go back to the start, so the next connection re-sends whatever the outbox still holds. We
 * do not rely on mqtt.js calling back for publishes it re-sends from its own store after a reconnect:
 * under repeated cuts some of those callbacks never come (seen in test/faults/link-flap.test.ts), and
 * an event waiting on one would never leave. A late callback from an old generation may still ack
 * its event (a PUBACK is a PUBACK); it no longer counts as in flight. The price is a few duplicates on
 * the wire after a reconnect (at most `maxInflight`), which the hub drops by id.
 */
export function createUplink(opts: UplinkOptions): Uplink {
  const { outbox, log } = opts;
  const maxInflight = opts.maxInflight ?? 500;
  const backoffMin = opts.backoffMinMs ?? 500;
  const backoffMax = opts.backoffMaxMs ?? 30_000;
  const inflight = new Set<number>();
  const cursor: OutboxCursor = { alarm: 0, routine: 0 };
  let client: MqttClient | undefined;
  let stopping = false;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let pumping = false;
  let pumpQueued = false;
  let generation = 0;
  const counters = { reconnects: 0, published: 0, acked: 0, lastHubContact: null as number | null };

  /** The Last Will; its `ts` is stamped again at each connect (scheduleReconnect). */
  const lwt: GatewayStatus = { v: 1, estate: opts.estate, gateway: opts.gateway, state: 'offline', ts: Date.now(), reason: 'lwt' };

  function schedulePump(): void {
    if (pumpQueued) return;
    pumpQueued = true;
    setImmediate(() => {
      pumpQueued = false;
      pump();
    });
  }

  function pump(): void {
    if (pumping || !client?.connected || stopping) return;
    pumping = true;
    try {
      while (inflight.size < maxInflight) {
        const batch = outbox.readRecords(cursor, Math.min(256, maxInflight - inflight.size));
        if (batch.length === 0) break;
        for (const record of batch) {
          const lane = record.alarm ? 'alarm' : 'routine';
          if (record.seq > cursor[lane]) cursor[lane] = record.seq;
          if (inflight.has(record.seq)) continue; // re-read after a cursor rewind; still in mqtt.js's hands
          inflight.add(record.seq);
          counters.published++;
          const gen = generation;
          const topic = topics.event(opts.estate, opts.gateway, record.device);
          client.publish(topic, record.body, DELIVERY.event, (err) => {
            if (!err) {
              counters.acked++;
              counters.lastHubContact = Date.now();
              outbox.ack(record.seq);
              opts.onAck?.(record.seq);
            }
            if (gen !== generation) return; // an old connection's publish: already forgotten
            inflight.delete(record.seq);
            if (err) {
              // Not acknowledged: rewind so it is read and sent again.
              cursor[lane] = Math.min(cursor[lane], record.seq - 1);
              log.debug({ err: err.message, seq: record.seq }, 'publish not acknowledged; will resend');
            }
            schedulePump();
          });
        }
      }
    } finally {
      pumping = false;
    }
  }

  function scheduleReconnect(): void {
    if (stopping || reconnectTimer) return;
    const delay = backoffDelay(attempt, backoffMin, backoffMax);
    attempt++;
    log.info({ delayMs: delay, attempt }, 'reconnecting to hub');
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      if (stopping || !client) return;
      // The will carries when this connection was opened: the hub tells an old connection's will
      // (published late, by the node it was on) from the latest one's by it.
      const will = client.options.will;
      if (will) will.payload = Buffer.from(JSON.stringify({ ...lwt, ts: Date.now() }));
      // reconnect() starts with empty stores: the QoS 1 packets the lost connection left unacknowledged
      // (or that were published while offline) are never sent again, yet mqtt.js keeps waiting for
      // their PUBACKs. Drop them (their callbacks get an error; the outbox re-sends its events):
      // otherwise a later clean end waits for them for ever ('outgoingEmpty'), and the socket stays
      // open with the hub counting the gateway connected (test/hub/cluster/commands.test.ts).
      dropUnacked(client);
      client.reconnect();
    }, delay);
  }

  /** Forget the QoS 1 publishes mqtt.js still waits on: their packets are gone with its stores at reconnect(). */
  function dropUnacked(c: MqttClient): void {
    const outgoing = (c as unknown as { outgoing?: Record<string, unknown> }).outgoing ?? {};
    for (const id of Object.keys(outgoing)) c.removeOutgoingMessage(Number(id));
  }

  return {
    async start() {
      const servers = hubServers(opts.url);
      const first = opts.url.split(',')[0]!.trim();
      client = mqtt.connect(first, {
        // Several hubs (a two-box site without a load balancer): a dead hub refuses or resets the
        // connection, the backoff below runs, and the next attempt goes to the next hub. The outbox
        // is per gateway, not per hub, so what the dead hub never acknowledged goes to the next one.
        ...(servers ? { servers } : {}),
        clientId: clientIdFor(opts.estate, opts.gateway),
        username: opts.username,
        password: opts.password,
        clean: false, // persistent session: commands queued while we were away still arrive
        keepalive: opts.keepaliveS,
        reconnectPeriod: 0, // we reconnect ourselves, with backoff and jitter
        connectTimeout: 10_000,
        protocolVersion: 4,
        resubscribe: false, // we subscribe ourselves when the broker says it has no session
        will: {
          topic: topics.status(opts.estate, opts.gateway),
          payload: Buffer.from(JSON.stringify(lwt)),
          qos: DELIVERY.status.qos,
          retain: DELIVERY.status.retain,
        },
      });
      client.on('connect', (connack) => {
        attempt = 0;
        counters.lastHubContact = Date.now();
        // Nagle would hold small PUBLISH packets back for up to 40 ms.
        (client as unknown as { stream?: { setNoDelay?: (v: boolean) => void } }).stream?.setNoDelay?.(true);
        const o = client!.options;
        log.info({ url: servers ? `${o.protocol}://${o.host}:${o.port}` : opts.url, sessionPresent: connack.sessionPresent }, 'connected to hub');
        // [MQTT-3.2.2-2] Session Present 0: the broker kept nothing for us (new hub, or it lost its
        // state); subscriptions are gone and must be made again.
        if (!connack.sessionPresent && opts.subscriptions?.length) {
          client!.subscribe(opts.subscriptions, { qos: 1 }, (err) => {
            if (err) log.warn({ err: err.message }, 'subscribe failed');
          });
        }
        opts.onConnect?.(connack.sessionPresent);
        pump();
      });
      client.on('message', (topic, payload) => {
        counters.lastHubContact = Date.now();
        opts.onMessage?.(topic, payload);
      });
      client.on('packetreceive', () => {
        counters.lastHubContact = Date.now();
      });
      client.on('close', () => {
        // New generation: forget what was in flight; the outbox still holds it and it goes again.
        generation++;
        inflight.clear();
        cursor.alarm = 0;
        cursor.routine = 0;
        if (!stopping) {
          counters.reconnects++;
          scheduleReconnect();
        }
      });
      client.on('error', (err) => log.warn({ err: err.message }, 'hub connection error'));
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
      // A clean DISCONNECT when connected (the broker then drops the Last Will), bounded in time; a
      // forced close otherwise, which would wait for nothing.
      const ended = c.connected ? c.endAsync(false) : c.endAsync(true);
      await Promise.race([ended.catch(() => undefined), new Promise((r) => setTimeout(r, 3_000).unref())]);
      // Past the bound the socket is closed here: mqtt.js ignores end(true) while a clean end is still
      // waiting for PUBACKs, and a socket left open keeps the gateway connected on the hub.
      if (!c.disconnected) (c as unknown as { stream?: { destroy(): void } }).stream?.destroy();
    },
    async publishStatus(status) {
      if (!client?.connected) return;
      await client
        .publishAsync(topics.status(opts.estate, opts.gateway), JSON.stringify(status), DELIVERY.status)
        .then(() => undefined)
        .catch((err: Error) => log.warn({ err: err.message }, 'status publish failed'));
    },
    async publish(topic, payload, publishOpts) {
      if (!client) throw new Error('uplink not started');
      await client.publishAsync(topic, payload, publishOpts);
    },
    kick: () => schedulePump(),
    connected: () => Boolean(client?.connected),
    stats: () => ({ inflight: inflight.size, ...counters }),
  };
}
