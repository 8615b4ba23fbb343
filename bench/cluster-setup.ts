/**
 * What the cluster benchmark (bench/cluster.ts) starts: PostgreSQL 15 with its production defaults,
 * redis-server and HAProxy from the Debian binaries (lib/cluster/launcher.ts, as `demo --cluster`),
 * hub processes (embedded SQLite or cluster nodes on the shared database), the gateways registered
 * straight in the hub database, and the probes it reads: CPU and memory from /proc, partition
 * leases and forced-door alerts from the database.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import pino from 'pino';
import { openDatabase } from '../hub/platform/db/index.js';
import { haproxyConfig } from '../lib/cluster/haproxy-config.js';
import { freePort, haproxyServerStatus, startLocalHaproxy, waitForPort, type LocalService } from '../lib/cluster/launcher.js';
import { procCpuS, sleep, startCliProcess, stopChild, treeCpu } from './lib.js';

/** The knobs (bench/cluster.ts). */
export const SECONDS = Number(process.env.RB_BENCH_SECONDS ?? 60);
export const RATE = Number(process.env.RB_BENCH_RATE ?? 1000);
export const GATEWAYS = Number(process.env.RB_BENCH_GATEWAYS ?? 100);
export const WARMUP_S = Number(process.env.RB_BENCH_WARMUP_S ?? 5);
export const LEASE_TTL_S = Number((process.env.RB_BENCH_LEASE_TTL ?? '10s').replace(/s$/, ''));
export const FORCED_EVERY = 500;

export const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);
export const TOKEN = randomBytes(24).toString('base64url');

/** One hub process behind HAProxy. */
export interface Node {
  name: string;
  proc: ReturnType<typeof startCliProcess>;
  http: string;
  mqttPort: number;
  httpPort: number;
}

/** A gateway's credentials (registered with a cheap scrypt hash: logins are not what is measured). */
export interface GatewayCreds { estate: string; gateway: string; username: string; password: string }

/**
 * `count` estates with one gateway each, written to the hub database before any hub starts
 * (openDatabase migrates it). scrypt N=16: the hub reads N, r, p from the stored hash (bench/hub-idle.ts).
 */
export async function registerGateways(where: { url?: string; file?: string }, count: number): Promise<GatewayCreds[]> {
  const list = Array.from({ length: count }, (_, i) => ({ estate: `est-${String(i + 1).padStart(3, '0')}`, gateway: 'gw-1', password: randomBytes(18).toString('base64url') }));
  const db = await openDatabase({ ...where, log: pino({ level: 'warn' }) });
  try {
    await db.transaction(async (trx) => {
      await trx.insertInto('estates').values(list.map((g) => ({ id: g.estate, street: null, grid: null, name: null }))).execute();
      const rows = list.map((g) => {
        const salt = randomBytes(16);
        const key = scryptSync(g.password, salt, 32, { N: 16, r: 8, p: 1 });
        return { estate: g.estate, gateway: g.gateway, username: `${g.estate}.${g.gateway}`, secret_hash: `scrypt$16$8$1$${salt.toString('base64')}$${key.toString('base64')}`, created_at: Date.now(), rotated_at: null, revoked_at: null };
      });
      await trx.insertInto('gateways').values(rows).execute();
    });
  } finally {
    await db.close();
  }
  return list.map((g) => ({ ...g, username: `${g.estate}.${g.gateway}` }));
}

/** Hub limits opened up (1,000 ev/s from one address through HAProxy), PROXY protocol v2 from HAProxy. */
/** Extra node flags for the hub processes, e.g. RB_BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const HUB_NODE_ARGS = (process.env.RB_BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);

const HUB_ENV = {
  RB_API_TOKEN: TOKEN,
  RB_MQTT_PROXY_PROTOCOL: 'true',
  RB_MQTT_PUBLISH_RATE: '1000000', RB_MQTT_PUBLISH_BURST: '1000000',
  RB_MQTT_CONNECT_RATE_PER_IP: '1000000', RB_MQTT_CONNECT_BURST_PER_IP: '1000000',
};

async function readyz(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3_000) })).status === 200;
  } catch {
    return false;
  }
}

/** A hub process: embedded (`db` unset: hub.db in its data dir) or a cluster node (`--db-url`, `--redis-url`, `--node-id`). */
export async function startNode(name: string, dataDir: string, db?: { url: string; redisUrl: string; leaseTtl: string }): Promise<Node> {
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const args = ['hub', '--data-dir', dataDir, '--host', '127.0.0.1', '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--log-level', 'warn'];
  if (db) args.push('--db-url', db.url, '--redis-url', db.redisUrl, '--node-id', name);
  const proc = startCliProcess(args, { ...HUB_ENV, ...(db ? { RB_CLUSTER_LEASE_TTL: db.leaseTtl } : {}) }, HUB_NODE_ARGS);
  const http = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 60_000;
  while (!(await readyz(http))) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`${name} was not ready`);
    await sleep(200);
  }
  return { name, proc, http, mqttPort, httpPort };
}

export const stopNode = (n: Node): Promise<void> => stopChild(n.proc);

/** HAProxy in front of `nodes` (the front of docs/cluster.md: leastconn, send-proxy-v2, /readyz checks), once every node is UP. */
export async function startFront(dir: string, nodes: readonly Node[]): Promise<LocalService & { mqttPort: number }> {
  const hDir = join(dir, 'haproxy');
  mkdirSync(hDir, { recursive: true });
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const sock = join(hDir, 'admin.sock');
  const config = haproxyConfig({
    mqttBind: `127.0.0.1:${mqttPort}`, httpBind: `127.0.0.1:${httpPort}`, checkInter: '1s', maxconn: 2000,
    hubs: nodes.map((n) => ({ name: n.name, host: '127.0.0.1', mqttPort: n.mqttPort, httpPort: n.httpPort })),
    global: [`stats socket ${sock} mode 600 level admin`],
  });
  const haproxy = await startLocalHaproxy({ dir: hDir, config, waitPorts: [mqttPort, httpPort] });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const st = await haproxyServerStatus(sock);
    if (nodes.every((n) => st.get(`hubs_mqtt/${n.name}`) === 'UP')) break;
    if (Date.now() > deadline) throw new Error(`HAProxy did not see every hub up: ${JSON.stringify([...st])}`);
    await sleep(200);
  }
  await waitForPort(mqttPort);
  return Object.assign(haproxy, { mqttPort });
}

/** CPU seconds of a process tree (a hub node, or PostgreSQL from its root: postmaster and backends). */
export const treeCpuS = (pid: number): number => [...treeCpu(pid).values()].reduce((a, b) => a + b, 0);
/** CPU seconds of one process (all its threads). */
export const cpuS = (pid: number): number => {
  try {
    return procCpuS(pid);
  } catch {
    return NaN;
  }
};

/**
 * Memory of a process tree in MiB: PSS (shared pages split among the processes sharing them, so
 * PostgreSQL's shared buffers count once) from /proc/PID/smaps_rollup, RSS where that cannot be read.
 */
export function treeMemMb(root: number): number {
  let kb = 0;
  for (const pid of treeCpu(root).keys()) {
    try {
      kb += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      try {
        kb += Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      } catch {
        // gone meanwhile
      }
    }
  }
  return kb / 1024;
}

/** Gateways connected to each node now (its /healthz). */
export async function gatewaysPerNode(nodes: readonly Node[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const n of nodes) {
    const r = await fetch(`${n.http}/healthz`).then((res) => res.json() as Promise<{ gatewaysConnected?: number }>, () => ({ gatewaysConnected: NaN }));
    out[n.name] = r.gatewaysConnected ?? NaN;
  }
  return out;
}

/** Read-only access to the hub's database for the probes: alerts, events stored, partition leases. */
export interface Probe {
  /** `estate/device` of every door.forced alert now. */
  forcedAlerts(): Promise<Set<string>>;
  /** Rows and distinct ids of stored events. */
  stored(): Promise<{ rows: number; ids: number }>;
  /** Which of `ids` are not in the event log. */
  missing(ids: readonly string[]): Promise<string[]>;
  /** Partitions per owner whose lease is live now (cluster only). */
  leases(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export async function openProbe(where: { url?: string; file?: string }): Promise<Probe> {
  if (where.url) {
    const c = new pg.Client({ connectionString: where.url });
    await c.connect();
    return {
      async forcedAlerts() {
        const r = await c.query<{ k: string }>("SELECT estate || '/' || device AS k FROM alerts WHERE rule = 'door.forced'");
        return new Set(r.rows.map((x) => x.k));
      },
      async stored() {
        const r = await c.query<{ rows: number; ids: number }>("SELECT count(*)::int AS rows, count(DISTINCT id)::int AS ids FROM event_log WHERE kind = 'event'");
        return r.rows[0]!;
      },
      async missing(ids) {
        const out: string[] = [];
        for (let i = 0; i < ids.length; i += 10_000) {
          const r = await c.query<{ id: string }>('SELECT t.id FROM unnest($1::text[]) AS t(id) WHERE NOT EXISTS (SELECT 1 FROM event_log e WHERE e.id = t.id)', [ids.slice(i, i + 10_000)]);
          out.push(...r.rows.map((x) => x.id));
        }
        return out;
      },
      async leases() {
        const r = await c.query<{ owner: string | null; n: number }>('SELECT owner, count(*)::int AS n FROM partition_leases WHERE owner IS NOT NULL AND expires_at > extract(epoch FROM clock_timestamp()) * 1000 GROUP BY owner');
        return Object.fromEntries(r.rows.map((x) => [x.owner ?? 'none', x.n]));
      },
      close: () => c.end(),
    };
  }
  const db = new Database(where.file!, { readonly: true, fileMustExist: true });
  const alerts = db.prepare<[], { k: string }>("SELECT estate || '/' || device AS k FROM alerts WHERE rule = 'door.forced'");
  const stored = db.prepare<[], { rows: number; ids: number }>("SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM event_log WHERE kind = 'event'");
  const one = db.prepare<[string], { id: string }>('SELECT id FROM event_log WHERE id = ?');
  return {
    missing: async (ids) => ids.filter((id) => one.get(id) === undefined),
    forcedAlerts: async () => new Set(alerts.all().map((x) => x.k)),
    stored: async () => stored.get()!,
    leases: async () => ({ embedded: 64 }),
    close: async () => void db.close(),
  };
}
