/**
 * Cluster benchmark (issue 18, "Performance"): a fixed event rate (default 1,000 events/s, 2 of them
 * forced doors) for RB_BENCH_SECONDS (default 60) from simulated gateways over MQTT QoS 1 through
 * HAProxy (leastconn, PROXY protocol v2, /readyz checks) to
 *   (a) the embedded hub (SQLite) alone,
 *   (b) one hub node in cluster mode (PostgreSQL 15 with its production defaults + Redis),
 *   (c) two hub nodes on the same PostgreSQL and Redis, then one of them killed -9.
 * Two shared cores cannot show the throughput of N nodes, so it measures cost: core-µs per stored
 * event (utime + stime from /proc over the measured window) of each hub node, PostgreSQL (postmaster
 * and backends), Redis and HAProxy; memory; publish → PUBACK; forced door sent → alert row visible
 * (polled every 100 ms), steady and across the kill; partitions per node. The sizing model
 * (bench/cluster-report.ts) turns the costs into capacity = cores / cost.
 *
 *   npm run bench:cluster   (RB_BENCH_SECONDS, RB_BENCH_RATE, RB_BENCH_GATEWAYS, RB_BENCH_WARMUP_S,
 *                            RB_BENCH_IDLE_S (default 10: the idle window before the load),
 *                            RB_BENCH_LEASE_TTL (default 10s), RB_BENCH_KILL=off to skip the kill -9,
 *                            RB_BENCH_ONLY=embedded,one,two for some scenarios,
 *                            RB_BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the hubs)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startLocalPostgres, startLocalRedis, type LocalPostgres, type LocalService } from '../lib/cluster/launcher.js';
import { Load, watchAlerts, type Forced } from './cluster-load.js';
import { clusterJson, printClusterReport, type Scenario } from './cluster-report.js';
import { cpuS, FORCED_EVERY, GATEWAYS, LEASE_TTL_S, RATE, SECONDS, WARMUP_S, gatewaysPerNode, log, openProbe, registerGateways, startFront, startNode, stopNode, treeCpuS, treeMemMb, type Node } from './cluster-setup.js';
import { percentile, procRss, sleep } from './lib.js';

const KILL = process.env.RB_BENCH_KILL !== 'off';
const IDLE_S = Number(process.env.RB_BENCH_IDLE_S ?? 10);
const SCENARIOS = ['embedded', 'one', 'two'] as const;
type Kind = (typeof SCENARIOS)[number];

interface Shared { pg: LocalPostgres; redis: LocalService & { url: string } }

const alertLatencies = (fs: Forced[]): { ms: number[]; missing: number } => ({
  ms: fs.filter((f) => f.seenAt !== undefined).map((f) => f.seenAt! - f.sentAt),
  missing: fs.filter((f) => f.seenAt === undefined).length,
});

async function scenario(kind: Kind, shared: Shared | undefined, root: string): Promise<Scenario> {
  const dir = join(root, kind);
  mkdirSync(dir);
  const names = kind === 'two' ? ['hub-a', 'hub-b'] : ['hub-a'];
  const where = kind === 'embedded' ? { file: join(dir, 'hub-a', 'hub.db') } : { url: await shared!.pg.createDatabase(`bench_${kind}`) };
  if (where.file) mkdirSync(join(dir, 'hub-a'));
  const creds = await registerGateways(where, GATEWAYS);
  const nodes: Node[] = [];
  const probe = await openProbe(where);
  let front: Awaited<ReturnType<typeof startFront>> | undefined;
  let load: Load | undefined;
  try {
    for (const n of names) nodes.push(await startNode(n, join(dir, n), where.url ? { url: where.url, redisUrl: shared!.redis.url, leaseTtl: `${LEASE_TTL_S}s` } : undefined));
    // Two nodes: wait for the lease split to settle (32 ± 5 each) before the load starts.
    if (kind === 'two') {
      const deadline = Date.now() + 40_000;
      for (;;) {
        const l = await probe.leases();
        if (names.every((n) => Math.abs((l[n] ?? 0) - 32) <= 5) || Date.now() > deadline) break;
        await sleep(250);
      }
    }
    front = await startFront(dir, nodes);
    load = new Load(creds, front.mqttPort, RATE, FORCED_EVERY);
    await load.connect();
    const pgRoot = shared?.pg.pids()[0];
    const redisPid = shared?.redis.pids()[0];
    const haPid = front.pids()[0]!;
    const read = () => ({
      at: Date.now(), wall: performance.now(),
      nodes: nodes.map((n) => treeCpuS(n.proc.pid!)),
      pg: kind !== 'embedded' && pgRoot ? treeCpuS(pgRoot) : NaN,
      redis: kind !== 'embedded' && redisPid ? cpuS(redisPid) : NaN,
      haproxy: cpuS(haPid),
      bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    });
    // What each process costs with its gateways connected and no event (leases, heartbeats, health
    // checks, keep-alives): the model separates this fixed cost from the cost per event.
    log(`${kind}: ${IDLE_S} s idle with ${GATEWAYS} gateways connected`);
    const i0 = read();
    await sleep(IDLE_S * 1000);
    const i1 = read();
    const idleS = (i1.wall - i0.wall) / 1000;
    const perS = (a: number, b: number): number => ((b - a) * 1e6) / idleS;
    const idle = { nodes: nodes.map((_, i) => perS(i0.nodes[i]!, i1.nodes[i]!)), pg: perS(i0.pg, i1.pg), redis: perS(i0.redis, i1.redis), haproxy: perS(i0.haproxy, i1.haproxy) };
    const watcher = watchAlerts(load, () => probe.forcedAlerts());
    log(`${kind}: ${RATE} events/s from ${GATEWAYS} gateways, ${WARMUP_S} s warm-up + ${SECONDS} s measured`);
    load.start();
    await sleep(WARMUP_S * 1000);

    const leasesStart = await probe.leases();
    const c0 = read();
    await sleep(SECONDS * 1000);
    const c1 = read();
    const leasesEnd = await probe.leases();
    const gateways = await gatewaysPerNode(nodes);
    const acks = load.acksBetween(c0.at, c1.at);
    const events = acks.length;
    const us = (a: number, b: number): number => ((b - a) * 1e6) / events;
    const wall = (c1.wall - c0.wall) / 1000;
    const mem = {
      nodes: nodes.map((n) => procRss(n.proc.pid!)),
      pg_mb: kind !== 'embedded' && pgRoot ? treeMemMb(pgRoot) : NaN,
      redis_mb: redisPid && kind !== 'embedded' ? procRss(redisPid).rssMb : NaN,
      haproxy_mb: procRss(haPid).rssMb,
    };
    const steady = alertLatencies([...load.forced.values()].filter((f) => f.sentAt >= c0.at && f.sentAt < c1.at));

    // Two nodes: kill -9 hub-a under the same load; the forced doors sent from then until TTL + 10 s.
    let kill: { killedAt: number; leasesAfter: Record<string, number>; forced: Forced[]; reconnects: number } | undefined;
    if (kind === 'two' && KILL) {
      const killedAt = Date.now();
      nodes[0]!.proc.kill('SIGKILL');
      log(`two: hub-a (pid ${nodes[0]!.proc.pid}) killed -9; load goes on for ${LEASE_TTL_S + 10} s`);
      await sleep((LEASE_TTL_S + 10) * 1000);
      const until = Date.now();
      kill = { killedAt, leasesAfter: await probe.leases(), forced: [...load.forced.values()].filter((f) => f.sentAt >= killedAt && f.sentAt < until), reconnects: load.reconnects };
    }
    load.stop();
    const unacked = await load.drain(60_000);
    // Every forced door's alert, waiting past the bound so a slow one is told from a lost one.
    const deadline = Date.now() + (LEASE_TTL_S + 20) * 1000;
    while ([...load.forced.values()].some((f) => f.seenAt === undefined) && Date.now() < deadline) await sleep(200);
    await watcher.stop();
    const stored = await probe.stored();
    const missing = await probe.missing(load.ackedIds);
    if (missing.length) log(`${kind}: ${missing.length} acknowledged events not in the event log, e.g. ${missing.slice(0, 5).join(' ')}`);
    const killAlerts = kill ? alertLatencies(kill.forced) : undefined;
    return {
      kind, nodes: names, gateways, window_s: wall, events, events_per_s: events / wall,
      cpu: {
        nodes: names.map((_, i) => us(c0.nodes[i]!, c1.nodes[i]!)),
        pg: us(c0.pg, c1.pg), redis: us(c0.redis, c1.redis), haproxy: us(c0.haproxy, c1.haproxy), bench: us(c0.bench, c1.bench),
      },
      idle,
      mem,
      ack_p50_ms: percentile(acks, 50), ack_p99_ms: percentile(acks, 99),
      alert: { samples: steady.ms.length, missing: steady.missing, p50_ms: percentile(steady.ms, 50), p99_ms: percentile(steady.ms, 99), max_ms: Math.max(0, ...steady.ms) },
      leases: { start: leasesStart, end: leasesEnd },
      totals: { sent: load.sent, acked: load.acked, unacked, stored_rows: stored.rows, stored_ids: stored.ids, lost: missing.length, duplicates: stored.rows - stored.ids },
      ...(kill && killAlerts
        ? { kill: { ...kill, samples: killAlerts.ms.length, missing: killAlerts.missing, p50_ms: percentile(killAlerts.ms, 50), p99_ms: percentile(killAlerts.ms, 99), max_ms: Math.max(0, ...killAlerts.ms) } }
        : {}),
    };
  } finally {
    await load?.close();
    await front?.stop();
    for (const n of [...nodes].reverse()) await stopNode(n);
    await probe.close();
  }
}

async function main(): Promise<void> {
  const only = process.env.RB_BENCH_ONLY?.split(',').filter(Boolean);
  for (const s of only ?? []) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`RB_BENCH_ONLY: unknown scenario ${s} (${SCENARIOS.join(', ')})`);
  const want = (k: Kind): boolean => !only || only.includes(k);
  const load = [loadavg()];
  const root = mkdtempSync(join(tmpdir(), 'rb-bench-cluster-'));
  // PostgreSQL's own temp dir: as root it runs as `postgres`, which must reach it.
  const pgDir = mkdtempSync(join(tmpdir(), 'rb-bench-pg-'));
  let shared: Shared | undefined;
  try {
    if (want('one') || want('two')) {
      const pg = await startLocalPostgres({ dir: pgDir, port: await freePort(), production: true });
      mkdirSync(join(root, 'redis'));
      shared = { pg, redis: await startLocalRedis({ dir: join(root, 'redis'), port: await freePort() }) };
    }
    const runs: Scenario[] = [];
    for (const k of SCENARIOS) if (want(k)) runs.push(await scenario(k, shared, root));
    load.push(loadavg());
    printClusterReport(runs, load);
    const file = new URL('./results/latest.json', import.meta.url);
    // latest.json holds the other benchmarks' keys too: only `cluster` is replaced (a partial run
    // goes to its own file).
    const json = clusterJson(runs, load);
    if (only) writeFileSync(new URL(`./results/latest-cluster-${only.join('-')}.json`, import.meta.url), `${JSON.stringify({ cluster: json }, null, 2)}\n`);
    else {
      const prev = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      writeFileSync(file, `${JSON.stringify({ ...prev, cluster: json }, null, 2)}\n`);
    }
    log(`wrote bench/results/${only ? `latest-cluster-${only.join('-')}.json` : 'latest.json'} (cluster)`);
  } finally {
    await shared?.redis.stop();
    await shared?.pg.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(pgDir, { recursive: true, force: true });
  }
}

await main();
