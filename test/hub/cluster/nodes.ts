import { join } from 'node:path';
import pg from 'pg';
import { createAccessGateSimulator, type AccessGateSimulator } from '../../../devices/access-gate/simulator.js';
import { startCli, stopProcess } from '../../support/cli.js';
import { metricValue, TEST_API_TOKEN } from '../../support/hub.js';
import { freePort, waitForPort } from '../../support/ports.js';

/** One `red-butler hub` process of a two-node cluster (its own ports and data dir, shared PostgreSQL and Redis). */
export interface ClusterNode {
  name: string;
  httpPort: number;
  mqttPort: number;
  proc: ReturnType<typeof startCli>;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Gateways connected to this node (its /healthz). */
  gateways(): Promise<number>;
  metric(name: string): Promise<number>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface NodeOptions {
  name: string;
  dbUrl: string;
  redisUrl: string;
  dir: string;
  /** cluster.brokerHeartbeatMs (a dead node's wills are published after 3 of them). */
  heartbeatMs?: number;
  /** cluster.leaseTtl: how soon a dead node's estates move to the other (default 10s). */
  leaseTtl?: string;
  /** cluster.orphanWillGraceMs: how long a dead node's gateway's will waits before it is believed. */
  orphanWillGraceMs?: number;
}

/** Start one hub node and wait for its MQTT port (migrate the database before starting two at once). */
export async function startNode(o: NodeOptions): Promise<ClusterNode> {
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const args = ['hub', '--db-url', o.dbUrl, '--redis-url', o.redisUrl, '--data-dir', join(o.dir, o.name), '--node-id', o.name];
  args.push('--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--log-level', 'warn');
  const env = {
    RB_AUTH_API_TOKEN: TEST_API_TOKEN,
    ...(o.heartbeatMs ? { RB_CLUSTER_BROKER_HEARTBEAT_MS: String(o.heartbeatMs) } : {}),
    ...(o.leaseTtl ? { RB_CLUSTER_LEASE_TTL: o.leaseTtl } : {}),
    ...(o.orphanWillGraceMs !== undefined ? { RB_CLUSTER_ORPHAN_WILL_GRACE_MS: String(o.orphanWillGraceMs) } : {}),
  };
  const proc = startCli(args, env);
  await waitForPort(mqttPort, 30_000, () => proc.exitCode === null).catch((err: unknown) => {
    throw new Error(`${o.name} did not start: ${(err as Error).message}\n${proc.output()}`);
  });
  const base = `http://127.0.0.1:${httpPort}`;
  return {
    name: o.name,
    httpPort,
    mqttPort,
    proc,
    async api(method, path, body) {
      const res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${TEST_API_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
    gateways: async () => ((await (await fetch(`${base}/healthz`)).json()) as { gatewaysConnected: number }).gatewaysConnected,
    metric: async (name) => metricValue(await (await fetch(`${base}/metrics`)).text(), name),
    stop: async (signal = 'SIGTERM') => void (await stopProcess(proc, signal)),
  };
}

/** Start nodes at once (the database migrated already); each one started is added to `into` (stopped by the caller). */
export async function startNodes(list: NodeOptions[], into: ClusterNode[]): Promise<ClusterNode[]> {
  const settled = await Promise.allSettled(list.map((o) => startNode(o)));
  for (const r of settled) if (r.status === 'fulfilled') into.push(r.value);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return into.slice(-list.length);
}

/** A simulated access controller the gateway drives (door.open runs on it). */
export async function startDoor(): Promise<{ sim: AccessGateSimulator; address: string; options: Record<string, string> }> {
  const sim = createAccessGateSimulator({ target: 'http://127.0.0.1:9/unused', deviceName: 'gate-1', format: 'json' });
  const address = await sim.listen({ username: 'admin', password: 'door-secret-1', pushOnOpen: false });
  return { sim, address, options: { address, username: 'admin', password: 'door-secret-1' } };
}

/** Rows of the shared event log for one estate. */
export async function logRows(dbUrl: string, sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>> {
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  try {
    return (await db.query(sql, params)).rows as Array<Record<string, unknown>>;
  } finally {
    await db.end();
  }
}
