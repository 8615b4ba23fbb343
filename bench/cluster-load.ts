/**
 * The cluster benchmark's gateways (bench/cluster.ts): one MQTT connection per gateway to HAProxy,
 * together a fixed rate of QoS 1 events (open loop: the schedule does not wait for PUBACKs), every
 * FORCED_EVERY-th a door.forced on a door of its own, so each raises one alert. A connection that
 * drops (its hub killed) reconnects through HAProxy to another node and mqtt.js sends again what was
 * not acknowledged, as a gateway's outbox does; the hub's event-log key makes a repeat a duplicate.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { monotonicFactory } from 'ulid';
import { clientIdFor, topics, type RbEvent } from '../protocol/index.js';
import type { GatewayCreds } from './cluster-setup.js';
import { sleep } from './lib.js';

/** One forced door: when it was sent and acknowledged (epoch ms), and when its alert was first seen. */
export interface Forced { key: string; sentAt: number; ackedAt?: number; seenAt?: number }

const TICK_MS = 10;

export class Load {
  private clients: MqttClient[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly nextId = monotonicFactory();
  private readonly seq = new Map<string, number>();
  private t0 = 0;
  sent = 0;
  acked = 0;
  errors = 0;
  reconnects = 0;
  /** Epoch ms of each PUBACK and its latency (publish → PUBACK, ms), in ack order. */
  readonly ackAt: number[] = [];
  readonly ackMs: number[] = [];
  readonly forced = new Map<string, Forced>();
  /** Ids of every acknowledged event, to look each up in the store at the end. */
  readonly ackedIds: string[] = [];

  constructor(
    private readonly gateways: readonly GatewayCreds[],
    private readonly port: number,
    private readonly rate: number,
    private readonly forcedEvery: number,
  ) {}

  async connect(): Promise<void> {
    this.clients = await Promise.all(this.gateways.map(async (g) => {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${this.port}`, {
        clientId: clientIdFor(g.estate, g.gateway), username: g.username, password: g.password,
        clean: true, reconnectPeriod: 500, connectTimeout: 5_000, keepalive: 30,
      });
      c.on('error', () => undefined);
      c.on('reconnect', () => this.reconnects++);
      return c;
    }));
  }

  /** Start the schedule: `rate` events/s in total, spread over the gateways in turn. */
  start(): void {
    this.t0 = performance.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((performance.now() - this.t0) / 1000) * this.rate);
      while (this.sent < due) this.publishOne(this.sent);
    }, TICK_MS);
  }

  private publishOne(i: number): void {
    const gi = i % this.gateways.length;
    const g = this.gateways[gi]!;
    const ts = Date.now();
    const seq = (this.seq.get(g.estate) ?? 0) + 1;
    this.seq.set(g.estate, seq);
    const isForced = i % this.forcedEvery === Math.floor(this.forcedEvery / 2);
    const device = isForced ? `door-f${i}` : `gate-${i % 4}`;
    const e = {
      v: 1, id: this.nextId(ts), seq, ts, estate: g.estate, gateway: g.gateway, device,
      ...(isForced ? { type: 'door.forced', data: { door: 1 } } : { type: 'access.granted', data: { door: 1, reader: 1, method: 'card', credential: '3f7a9c1e5b2d4f60' } }),
    } as RbEvent;
    const f: Forced | undefined = isForced ? { key: `${g.estate}/${device}`, sentAt: ts } : undefined;
    if (f) this.forced.set(f.key, f);
    this.sent++;
    const t = performance.now();
    this.clients[gi]!.publish(topics.event(g.estate, g.gateway, device), JSON.stringify(e), { qos: 1 }, (err) => {
      if (err) {
        this.errors++;
        return;
      }
      this.acked++;
      this.ackedIds.push(e.id);
      const now = Date.now();
      this.ackAt.push(now);
      this.ackMs.push(performance.now() - t);
      if (f) f.ackedAt = now;
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Wait until every event sent is acknowledged (or `ms` passed); returns how many are still out. */
  async drain(ms: number): Promise<number> {
    const deadline = Date.now() + ms;
    while (this.acked + this.errors < this.sent && Date.now() < deadline) await sleep(50);
    return this.sent - this.acked;
  }

  /** Acks between two epoch ms, and their latencies. */
  acksBetween(from: number, to: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.ackAt.length; i++) if (this.ackAt[i]! >= from && this.ackAt[i]! < to) out.push(this.ackMs[i]!);
    return out;
  }

  async close(): Promise<void> {
    this.stop();
    await Promise.all(this.clients.map((c) => c.endAsync(true).catch(() => undefined)));
  }
}

/** Poll the forced-door alerts every `everyMs` and stamp when each is first visible; stop() ends it. */
export function watchAlerts(load: Load, forcedAlerts: () => Promise<Set<string>>, everyMs = 100): { stop(): Promise<void> } {
  let on = true;
  const loop = (async () => {
    while (on) {
      try {
        const seen = await forcedAlerts();
        const at = Date.now();
        for (const k of seen) {
          const f = load.forced.get(k);
          if (f && f.seenAt === undefined) f.seenAt = at;
        }
      } catch {
        // the database restarting or the file busy: next round
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      on = false;
      await loop;
    },
  };
}
