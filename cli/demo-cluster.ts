import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHub } from '../hub/main.js';
import { resolveHubConfig } from '../hub/config.js';
import { haproxyConfig, type HaproxyHub } from '../lib/cluster/haproxy-config.js';
import { freePort, haproxyServerStatus, startLocalHaproxy, startLocalPostgres, startLocalRedis, type LocalService } from '../lib/cluster/launcher.js';
import { createLogger } from '../lib/log.js';
import type { DemoOptions } from './demo.js';
import { DEMO_USERS, ESTATES } from './demo-street.js';
import { child, demoSecret, planStreet, seedStreet, startGateways, startSimulator, stopChild } from './demo-setup.js';

/**
 * `red-butler demo --cluster` (issue 18 item 7): the street of `red-butler demo`, served by a hub
 * cluster started here from Debian binaries: PostgreSQL 15 (initdb in a temp dir), redis-server,
 * two hub processes (`--db-url`, `--redis-url`, `--node-id`, PROXY protocol v2 on MQTT, X-Forwarded-For
 * trusted from 127.0.0.1) and HAProxy in front (lib/cluster/haproxy-config.ts, the same front as
 * docker-compose.cluster.yml); the simulated gateways connect to HAProxy. Everything lives in one
 * temp dir, removed on Ctrl+C with every process stopped by PID.
 */
const NODES = ['hub-a', 'hub-b'] as const;

async function readyz(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3_000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

async function until(what: string, ms: number, ok: () => Promise<boolean>, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (!alive() || Date.now() > deadline) throw new Error(`demo --cluster: ${what} within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function runClusterDemo(opts: DemoOptions, level: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-demo-cluster-'));
  const services: LocalService[] = [];
  const children: Array<{ name: string; proc: ChildProcess }> = [];
  const extraDirs: string[] = [];
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    // Gateways and simulator first (nothing new arrives), then the hubs, HAProxy, Redis, PostgreSQL.
    for (const c of [...children].reverse()) await stopChild(c.proc);
    for (const s of [...services].reverse()) await s.stop();
    for (const d of [dir, ...extraDirs]) rmSync(d, { recursive: true, force: true });
  };
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('demo: stopping…\n');
    await stopAll();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    // Its own temp dir: as root PostgreSQL runs as `postgres`, which must reach it (the work dir is 0700).
    const pgDir = mkdtempSync(join(tmpdir(), 'rb-demo-pg-'));
    extraDirs.push(pgDir);
    const postgres = await startLocalPostgres({ dir: pgDir, port: await freePort() });
    services.push(postgres);
    const dbUrl = await postgres.createDatabase('redbutler');
    const redisDir = join(dir, 'redis');
    mkdirSync(redisDir);
    const redis = await startLocalRedis({ dir: redisDir, port: await freePort() });
    services.push(redis);

    const front = { http: opts.httpPort ?? 8080, mqtt: opts.mqttPort ?? 1883 };
    const dataDir = join(dir, 'data');
    const apiToken = process.env.RB_AUTH_API_TOKEN ?? process.env.RB_API_TOKEN ?? demoSecret(dataDir, 'demo-api-token');
    // The street goes into the shared database once, through a hub in this process that stops
    // again: the two nodes below find it there.
    const log = createLogger({ name: 'demo', level });
    const seeder = createHub({
      config: resolveHubConfig({ dataDir: join(dir, 'seed'), db: { url: dbUrl }, host: '127.0.0.1', http: { port: 0 }, mqtt: { port: 0 }, logLevel: level as 'warn', cluster: { nodeId: 'demo-seed' } }, {}),
      log,
    });
    await seeder.start();
    const plan = await planStreet({ dataDir, pushPort: opts.pushPort });
    const files = await seedStreet(seeder, plan, { dataDir, hubAccess: { mqttPort: front.mqtt, httpPort: front.http }, level });
    await seeder.stop();

    const hubs: Array<HaproxyHub & { url: string; proc: ChildProcess }> = [];
    for (const node of NODES) {
      const [httpPort, mqttPort] = [await freePort(), await freePort()];
      const args = ['hub', '--db-url', dbUrl, '--redis-url', redis.url, '--node-id', node, '--data-dir', join(dir, node), '--host', '127.0.0.1', '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--log-level', level];
      const proc = child(args, node, { RB_MQTT_PROXY_PROTOCOL: 'true', RB_HTTP_TRUST_PROXY: '127.0.0.1', RB_API_TOKEN: apiToken });
      children.push({ name: node, proc });
      const url = `http://127.0.0.1:${httpPort}`;
      // One after the other: the first migrates the shared database.
      await until(`${node} was not ready`, 30_000, () => readyz(url), () => proc.exitCode === null && proc.signalCode === null);
      hubs.push({ name: node, host: '127.0.0.1', httpPort, mqttPort, url, proc });
    }
    const haproxyDir = join(dir, 'haproxy');
    mkdirSync(haproxyDir);
    const config = haproxyConfig({ mqttBind: `127.0.0.1:${front.mqtt}`, httpBind: `127.0.0.1:${front.http}`, hubs, checkInter: '1s', maxconn: 2000, global: [`stats socket ${join(haproxyDir, 'admin.sock')} mode 600 level admin`] });
    services.push(await startLocalHaproxy({ dir: haproxyDir, config, waitPorts: [front.http, front.mqtt] }));
    const base = `http://127.0.0.1:${front.http}`;
    // Every hub up in HAProxy (rise 2 × 1 s) before the gateways come: leastconn then spreads them.
    const sock = join(haproxyDir, 'admin.sock');
    const allUp = async (): Promise<boolean> => {
      const st = await haproxyServerStatus(sock);
      return hubs.every((h) => st.get(`hubs_mqtt/${h.name}`) === 'UP' && st.get(`hubs_http/${h.name}`) === 'UP');
    };
    await until('HAProxy did not see both hubs up', 15_000, allUp);

    // The devices first, then (once they listen) the gateways.
    const simulator = startSimulator(plan, opts);
    children.push({ name: 'simulator', proc: simulator });
    const gateways = await startGateways(plan, files);
    children.push(...gateways.map((proc, i) => ({ name: `gateway-${i + 1}`, proc })));
    const connected = async (): Promise<boolean> => {
      let n = 0;
      for (const h of hubs) {
        const r = await fetch(`${h.url}/healthz`).then((res) => res.json() as Promise<{ gatewaysConnected?: number }>, () => ({ gatewaysConnected: 0 }));
        n += r.gatewaysConnected ?? 0;
      }
      return n >= ESTATES.length;
    };
    await until('the gateways did not connect', 15_000, connected).catch(() => process.stderr.write('demo: the gateways are not connected yet; they keep trying\n'));

    const pidsOf = (proc: ChildProcess): string => String(proc.pid);
    process.stdout.write(
      [
        '',
        '红管家 Red Butler 集群演示 cluster demo is running',
        `  screens (through HAProxy): ${base}/  (log in as one of the people below)`,
        ...DEMO_USERS.map((u) => `    ${u.role.padEnd(9)} ${u.name.padEnd(10)} password ${u.password}`),
        `  gateways connect to:       mqtt://127.0.0.1:${front.mqtt} (HAProxy, leastconn, PROXY protocol v2)`,
        ...hubs.map((h) => `  node ${h.name}: readyz ${h.url}/readyz   metrics ${h.url}/metrics   pid ${pidsOf(h.proc)}`),
        `  PostgreSQL:  ${dbUrl}   pids ${postgres.pids().join(' ')}`,
        `  Redis:       ${redis.url}   pid ${redis.pids().join(' ')}`,
        `  HAProxy:     config ${join(haproxyDir, 'haproxy.cfg')}   pid ${services[2]!.pids().join(' ')}`,
        `               runtime API: ${sock} (with socat: echo 'show stat' | socat - UNIX-CONNECT:${sock} | cut -d, -f1,2,18)`,
        `  processes:   ${[...services.map((s) => `${s.name}=${s.pids().join(',')}`), ...children.map((c) => `${c.name}=${c.proc.pid}`)].join(' ')}`,
        `  API token (admin, scripts): ${apiToken}`,
        `  work dir:    ${dir} (removed on exit)`,
        '  Watch a failover 看故障切换:',
        `    kill -9 ${hubs[0]!.proc.pid}    # hub-a; HAProxy sees its /readyz fail within ~2 s, its gateways reconnect to hub-b`,
        `    curl -s ${hubs[1]!.url}/healthz   # gatewaysConnected on hub-b; the screens keep working through ${base}/`,
        '  Ctrl+C stops everything.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    process.stderr.write(`demo --cluster: ${(err as Error).message}\n`);
    await stop(1);
  }
}
