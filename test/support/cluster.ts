import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll } from 'vitest';
import { openDatabase } from '../../hub/platform/db/index.js';
import { createRegistry } from '../../hub/registry.js';
import { silentLogger } from '../../lib/log.js';
import { clientIdFor, topics } from '../../protocol/index.js';
import type { RbEvent } from '../../protocol/index.js';
import { startCli, stopProcess } from './cli.js';
import { freePort, waitForPort } from './ports.js';

/** One hub process of a test cluster. */
export interface HubNode {
  node: string;
  proc: ReturnType<typeof startCli>;
  httpPort: number;
  mqttPort: number;
}

/** Start `red-butler hub` as node `node` on the shared PostgreSQL database (free ports, own data dir). */
export async function startHubNode(dbUrl: string, node: string, dir: string, env: NodeJS.ProcessEnv = {}, ports?: { httpPort: number; mqttPort: number }): Promise<HubNode> {
  const [httpPort, mqttPort] = ports ? [ports.httpPort, ports.mqttPort] : [await freePort(), await freePort()];
  const args = ['hub', '--db-url', dbUrl, '--data-dir', join(dir, node), '--node-id', node, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--log-level', process.env.RB_TEST_HUB_LOG ?? 'warn'];
  const proc = startCli(args, env);
  await waitForPort(mqttPort, 30_000);
  return { node, proc, httpPort, mqttPort };
}

/**
 * A cluster fault test's temp dir and the nodes and gateways it starts (push them here): closed,
 * stopped and removed after the file's tests. Call inside `describe`.
 */
export function useClusterWorld(prefix: string): { dir: string; nodes: HubNode[]; gateways: SimGateway[] } {
  const world = { dir: mkdtempSync(join(tmpdir(), prefix)), nodes: [] as HubNode[], gateways: [] as SimGateway[] };
  afterAll(async () => {
    for (const g of world.gateways) await g.close();
    for (const n of world.nodes) await stopProcess(n.proc);
    rmSync(world.dir, { recursive: true, force: true });
  });
  return world;
}

/** Register gateways straight in the shared database (migrating it first), before any hub starts. */
export async function registerGateways(dbUrl: string, list: ReadonlyArray<{ estate: string; gateway: string }>): Promise<Map<string, { username: string; password: string }>> {
  const db = await openDatabase({ url: dbUrl, log: silentLogger() });
  const registry = createRegistry({ db, log: silentLogger() });
  await registry.start();
  const out = new Map<string, { username: string; password: string }>();
  try {
    for (const g of list) {
      const c = await registry.addGateway(g.estate, g.gateway);
      out.set(`${g.estate}/${g.gateway}`, { username: c.username, password: c.password });
    }
  } finally {
    await registry.close();
    await db.close();
  }
  return out;
}

/**
 * A gateway as the hub sees one on the wire (MQTT, QoS 1), reduced to what a fault test needs: it
 * sends events, counts what the hub acknowledged (PUBACK), and when its connection drops it goes to
 * the next hub in its list and sends again everything not acknowledged, like the real gateway's
 * outbox (gateway/outbox.ts).
 */
export class SimGateway {
  readonly acked = new Map<string, number>();
  private readonly unacked = new Map<string, RbEvent>();
  private client: MqttClient | undefined;
  private which = 0;
  private closed = false;
  private moving: Promise<void> | undefined;
  moves = 0;
  /** Why the last move failed (no hub answered), if it did; `send` then gives up. */
  failure: Error | undefined;

  constructor(
    readonly estate: string,
    readonly gateway: string,
    private readonly creds: { username: string; password: string },
    /** MQTT ports, first is where it connects first. */
    private readonly ports: readonly number[],
  ) {}

  async connect(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const port = this.ports[this.which % this.ports.length]!;
      try {
        const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
          clientId: clientIdFor(this.estate, this.gateway),
          username: this.creds.username,
          password: this.creds.password,
          clean: true,
          reconnectPeriod: 0,
          connectTimeout: 3_000,
        });
        c.on('error', () => undefined);
        c.setMaxListeners(0);
        c.on('close', () => {
          if (this.client === c && !this.closed) this.move().catch((err: unknown) => (this.failure = err as Error));
        });
        this.client = c;
        return;
      } catch {
        this.which++;
        if (attempt > 40 || this.closed) throw new Error(`${this.estate}/${this.gateway}: no hub answered`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** The port of the hub it is connected to now. */
  port(): number {
    return this.ports[this.which % this.ports.length]!;
  }

  private move(): Promise<void> {
    this.moving ??= (async () => {
      this.client = undefined;
      this.which++;
      this.moves++;
      await this.connect();
      const again = [...this.unacked.values()];
      await Promise.all(again.map((e) => this.publish(e)));
    })().finally(() => (this.moving = undefined));
    return this.moving;
  }

  private async publish(e: RbEvent): Promise<void> {
    const c = this.client;
    if (!c) return;
    // mqtt.js keeps a QoS 1 message of a dropped connection for that client's own reconnect, which
    // never comes here (a new client goes to the next hub): stop waiting when the connection closes.
    const closed = new Promise<boolean>((r) => c.once('close', () => r(false)));
    try {
      const ok = await Promise.race([c.publishAsync(topics.event(e.estate, e.gateway, e.device), JSON.stringify(e), { qos: 1 }).then(() => true), closed]);
      if (ok && this.unacked.delete(e.id)) this.acked.set(e.id, Date.now());
    } catch {
      // Not acknowledged: sent again after the move.
    }
  }

  /** Send one event; resolves when acknowledged (possibly by another hub after a move). */
  async send(e: RbEvent): Promise<void> {
    this.unacked.set(e.id, e);
    await this.publish(e);
    while (this.unacked.has(e.id) && !this.closed) {
      if (this.failure && !this.moving) throw this.failure;
      await (this.moving?.catch(() => undefined) ?? new Promise((r) => setTimeout(r, 50)));
      if (this.unacked.has(e.id) && this.client?.connected && !this.moving) await this.publish(e);
    }
  }

  pending(): number {
    return this.unacked.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client?.endAsync(true).catch(() => undefined);
  }
}
