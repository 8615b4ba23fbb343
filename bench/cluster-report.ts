/**
 * The cluster benchmark's output (bench/cluster.ts): the cost table, the targets, and the sizing
 * model (docs/cluster.md, "Sizing"): capacity = cores / cost per tier, the cluster's capacity the
 * smallest of its tiers; cells of one PostgreSQL each, sharded by geography, up to a province.
 */
import { cpus, totalmem } from 'node:os';
import type { Forced } from './cluster-load.js';
import { FORCED_EVERY, GATEWAYS, LEASE_TTL_S, RATE, SECONDS, WARMUP_S } from './cluster-setup.js';
import { table } from './lib.js';

export interface Scenario {
  kind: 'embedded' | 'one' | 'two';
  nodes: string[];
  gateways: Record<string, number>;
  window_s: number;
  events: number;
  events_per_s: number;
  /** core-µs per stored event over the window: each node, PostgreSQL, Redis, HAProxy, the bench's own gateways. */
  cpu: { nodes: number[]; pg: number; redis: number; haproxy: number; bench: number };
  /** core-µs per second with the gateways connected and no event (fixed cost): each node, PostgreSQL, Redis, HAProxy. */
  idle: { nodes: number[]; pg: number; redis: number; haproxy: number };
  mem: { nodes: Array<{ rssMb: number; peakMb: number }>; pg_mb: number; redis_mb: number; haproxy_mb: number };
  ack_p50_ms: number;
  ack_p99_ms: number;
  alert: { samples: number; missing: number; p50_ms: number; p99_ms: number; max_ms: number };
  leases: { start: Record<string, number>; end: Record<string, number> };
  totals: { sent: number; acked: number; unacked: number; stored_rows: number; stored_ids: number; lost: number; duplicates: number };
  kill?: { killedAt: number; leasesAfter: Record<string, number>; forced: Forced[]; reconnects: number; samples: number; missing: number; p50_ms: number; p99_ms: number; max_ms: number };
}

/** Boxes of the model: a hub node, the PostgreSQL primary, Redis, HAProxy (cores each). */
export const BOX = { node: 4, pg: 8, redis: 2, haproxy: 2 };
/** Planned utilisation: half, so a cell survives a dead node and a peak twice the mean. */
const UTIL = 0.5;
/** A district: 556 estates, about 1.1k events/s (issue 18). */
const DISTRICT = { estates: 556, events_per_s: 1100 };

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const f1 = (x: number): number | null => (Number.isFinite(x) ? +x.toFixed(1) : null);
const f2 = (x: number): number | null => (Number.isFinite(x) ? +x.toFixed(2) : null);
const cell = (x: number, d = 1): string | number => (Number.isFinite(x) ? +x.toFixed(d) : '-');
/**
 * events/s a tier of `cores` carries that costs `idle` core-µs a second with nothing to do and `us`
 * core-µs per event at `rate` events/s: the fixed part (leases, heartbeats, health checks,
 * keep-alives) is paid once a second whatever the rate, so at capacity it is not spread over the
 * measured rate: (cores × 1e6 − idle) / (us − idle / rate). With idle 0 (or unknown): cores × 1e6 / us.
 */
const capacityOf = (cores: number, us: number, idle: number, rate: number): number => {
  const fixed = Number.isFinite(idle) ? idle : 0;
  const marginal = us - fixed / rate;
  return marginal > 0 ? (cores * 1e6 - fixed) / marginal : Infinity;
};

export function model(runs: Scenario[]) {
  const by = (k: Scenario['kind']) => runs.find((r) => r.kind === k);
  const [e, one, two] = [by('embedded'), by('one'), by('two')];
  const capacity = (t: Record<string, number>) => Math.min(...Object.values(t));
  const mean = (xs: number[]) => sum(xs) / xs.length;
  /** `fixed` false: every cost spread over the measured rate (the model before the idle window). */
  const ratios = (fixed: boolean) => {
    const idleOf = (x: number): number => (fixed ? x : 0);
    // `pick`: which node's costs bound the hub tier (every node alike: the tier is nodes × that).
    const tiers = (r: Scenario, pick: (xs: number[]) => number) => {
      const n = r.nodes.length;
      const c = (cores: number, us: number, idle: number) => capacityOf(cores, us, idleOf(idle), r.events_per_s);
      return { hub: c(BOX.node * n, pick(r.cpu.nodes) * n, pick(r.idle.nodes) * n), pg: c(BOX.pg, r.cpu.pg, r.idle.pg), redis: c(BOX.redis, r.cpu.redis, r.idle.redis), haproxy: c(BOX.haproxy, r.cpu.haproxy, r.idle.haproxy) };
    };
    // The busier node bounds the pair: the one of least capacity (fixed and per-event cost together).
    const busier = (r: Scenario) => {
      const caps = r.cpu.nodes.map((u, i) => capacityOf(BOX.node, u, idleOf(r.idle.nodes[i]!), r.events_per_s));
      const i = caps.indexOf(Math.min(...caps));
      return (xs: number[]) => xs[i]!;
    };
    const one1 = one ? tiers(one, (xs) => xs[0]!) : undefined;
    const worst = two ? tiers(two, busier(two)) : undefined;
    const balanced = two ? tiers(two, mean) : undefined;
    return {
      one1, worst,
      capacity_one: one1 ? capacity(one1) : NaN, capacity_two: worst ? capacity(worst) : NaN, capacity_two_balanced: balanced ? capacity(balanced) : NaN,
      two_vs_one: one1 && worst ? capacity(worst) / capacity(one1) : NaN,
      two_vs_one_balanced: one1 && balanced ? capacity(balanced) / capacity(one1) : NaN,
    };
  };
  const withFixed = ratios(true);
  const flat = ratios(false);
  const one1 = withFixed.one1;
  const twoWorst = withFixed.worst;
  // Province sizing from the two-node costs: per event (the cluster's hub nodes together, PostgreSQL)
  // plus a fixed cost a second (each hub node, PostgreSQL), as in the model.
  const base = two ?? one;
  const hubUs = base ? sum(base.cpu.nodes.map((u, i) => u - base.idle.nodes[i]! / base.events_per_s)) : NaN;
  const nodeFixed = base ? mean(base.idle.nodes) : NaN;
  const pgFixed = base?.idle.pg ?? NaN;
  const pgUs = base ? base.cpu.pg - pgFixed / base.events_per_s : NaN;
  const cellEvents = (BOX.pg * 1e6 * UTIL - pgFixed) / pgUs;
  const level = (name: string, districts: number) => {
    const rate = districts * DISTRICT.events_per_s;
    const cells = Math.ceil(rate / cellEvents);
    const nodesPerCell = Math.max(2, Math.ceil(((rate / cells) * hubUs) / (1e6 * BOX.node * UTIL - nodeFixed)) + 1);
    return { level: name, districts, estates: districts * DISTRICT.estates, events_per_s: rate, cells, hub_nodes: cells * nodesPerCell, pg_cores: +((rate * pgUs + cells * pgFixed) / 1e6 / UTIL).toFixed(1) };
  };
  return {
    boxes: BOX, utilisation: UTIL,
    embedded_hub_us: e?.cpu.nodes[0] ?? NaN,
    cluster_hub_us: one?.cpu.nodes[0] ?? NaN,
    hub_ratio_vs_embedded: e && one ? one.cpu.nodes[0]! / e.cpu.nodes[0]! : NaN,
    capacity_one: withFixed.capacity_one, tiers_one: one1,
    capacity_two: withFixed.capacity_two, tiers_two: twoWorst,
    capacity_two_balanced: withFixed.capacity_two_balanced,
    two_vs_one: withFixed.two_vs_one,
    two_vs_one_balanced: withFixed.two_vs_one_balanced,
    // The same with the fixed costs spread over the measured rate (what the model was before).
    two_vs_one_flat: flat.two_vs_one,
    two_vs_one_flat_balanced: flat.two_vs_one_balanced,
    idle_us_per_s: { one: one?.idle ?? null, two: two?.idle ?? null },
    hub_us_cluster: hubUs, hub_node_fixed_us_per_s: nodeFixed, pg_us: pgUs, pg_fixed_us_per_s: pgFixed, cell_events_per_s: cellEvents,
    cell_districts: cellEvents / DISTRICT.events_per_s,
    sizing: [level('district', 1), level('city (10 districts)', 10), level('province (100 districts)', 100)],
  };
}

const name = (r: Scenario): string => ({ embedded: '(a) embedded hub, SQLite', one: '(b) 1 node, PostgreSQL + Redis', two: '(c) 2 nodes, PostgreSQL + Redis' })[r.kind];

export function printClusterReport(runs: Scenario[], load: number[][]): void {
  console.log(`\nCluster benchmark — ${RATE} events/s (1 in ${FORCED_EVERY} a forced door) from ${GATEWAYS} gateways over MQTT QoS 1 through HAProxy (leastconn), ${WARMUP_S} s warm-up + ${SECONDS} s measured; lease TTL ${LEASE_TTL_S} s; ${new Date().toISOString()}; load average ${load.map((l) => l.map((x) => x.toFixed(2)).join(' ')).join(' → ')}`);
  const rows = runs.map((r) => ({
    scenario: name(r), 'offered/s': RATE, 'stored/s': Math.round(r.events_per_s),
    'hub µs/ev': r.cpu.nodes.map((x) => cell(x)).join(' + '), 'pg µs/ev': cell(r.cpu.pg), 'redis µs/ev': cell(r.cpu.redis), 'haproxy µs/ev': cell(r.cpu.haproxy),
    'total µs/ev': cell(sum(r.cpu.nodes) + (Number.isFinite(r.cpu.pg) ? r.cpu.pg + r.cpu.redis : 0) + r.cpu.haproxy),
    'hub RSS MiB': r.mem.nodes.map((m) => Math.round(m.rssMb)).join(' + '), 'pg MiB': cell(r.mem.pg_mb, 0),
    'ack p99 ms': cell(r.ack_p99_ms), 'alert p50/p99 ms': `${cell(r.alert.p50_ms, 0)}/${cell(r.alert.p99_ms, 0)}`,
    partitions: r.kind === 'embedded' ? '-' : Object.entries(r.leases.end).map(([k, v]) => `${k} ${v}`).join(', '),
  }));
  console.log(table(rows));
  for (const r of runs) {
    console.log(`${name(r)}: gateways per node ${JSON.stringify(r.gateways)}; sent ${r.totals.sent}, acked ${r.totals.acked}, stored ${r.totals.stored_ids} ids (${r.totals.duplicates} duplicate rows), acknowledged but not stored ${r.totals.lost} (each acknowledged id looked up); alert samples ${r.alert.samples} (${r.alert.missing} missing), max ${cell(r.alert.max_ms, 0)} ms; HAProxy ${cell(r.mem.haproxy_mb, 0)} MiB, Redis ${cell(r.mem.redis_mb, 0)} MiB; the bench's own gateways ${cell(r.cpu.bench)} µs/ev.`);
    if (r.kill) console.log(`  kill -9 hub-a: forced doors sent in the ${LEASE_TTL_S + 10} s after it: ${r.kill.samples} alerted (${r.kill.missing} missing), p50 ${cell(r.kill.p50_ms, 0)} ms, p99 ${cell(r.kill.p99_ms, 0)} ms, max ${cell(r.kill.max_ms, 0)} ms (target <= TTL + 5 s = ${(LEASE_TTL_S + 5) * 1000} ms); partitions after ${JSON.stringify(r.kill.leasesAfter)}; gateway reconnects ${r.kill.reconnects}.`);
  }
  const m = model(runs);
  console.log('\nµs/ev = core-µs per stored event over the measured window (utime + stime from /proc: the hub process; PostgreSQL = postmaster + every backend; redis-server; HAProxy). PostgreSQL MiB = PSS summed over its processes (shared buffers once). alert = forced door sent → alert row visible (polled every 100 ms).');
  const two = runs.find((r) => r.kind === 'two');
  console.log(`Targets: cluster-mode hub ${cell(m.cluster_hub_us)} vs embedded ${cell(m.embedded_hub_us)} µs/ev = ${cell(m.hub_ratio_vs_embedded, 2)}x (target <= 1.5x); two nodes vs one (model below) ${cell(m.two_vs_one, 2)}x, balanced ${cell(m.two_vs_one_balanced, 2)}x (target >= 1.7x; with the fixed costs spread over ${RATE} events/s instead: ${cell(m.two_vs_one_flat, 2)}x, balanced ${cell(m.two_vs_one_flat_balanced, 2)}x); partitions ${two ? JSON.stringify(two.leases.end) : '-'} (target 32 ± 5); alert p99 steady ${runs.map((r) => `${r.kind} ${cell(r.alert.p99_ms, 0)} ms`).join(', ')} (target <= 1000 ms).`);
  console.log(`Model: a hub node ${BOX.node} cores, PostgreSQL ${BOX.pg}, Redis ${BOX.redis}, HAProxy ${BOX.haproxy}; capacity of a tier = (cores × 1e6 − its idle core-µs a second) / its core-µs per event beyond the idle cost; the cluster = its smallest tier. Idle (gateways connected, no event), core-µs a second: ${runs.map((r) => `${r.kind} nodes ${r.idle.nodes.map((x) => cell(x, 0)).join(' + ')}, pg ${cell(r.idle.pg, 0)}, redis ${cell(r.idle.redis, 0)}, haproxy ${cell(r.idle.haproxy, 0)}`).join('; ')}. One node: ${JSON.stringify(Object.fromEntries(Object.entries(m.tiers_one ?? {}).map(([k, v]) => [k, Math.round(v)])))} events/s; two (the busier node bounds): ${JSON.stringify(Object.fromEntries(Object.entries(m.tiers_two ?? {}).map(([k, v]) => [k, Math.round(v)])))}.`);
  console.log(`Sizing at ${UTIL * 100} % planned utilisation: one cell (one PostgreSQL of ${BOX.pg} cores) ≈ ${Math.round(m.cell_events_per_s)} events/s ≈ ${cell(m.cell_districts)} districts.`);
  console.log(table(m.sizing.map((s) => ({ level: s.level, estates: s.estates, 'events/s': s.events_per_s, cells: s.cells, [`hub nodes (${BOX.node} cores)`]: s.hub_nodes, 'PostgreSQL cores': s.pg_cores }))));
}

export function clusterJson(runs: Scenario[], load: number[][]): Record<string, unknown> {
  const m = model(runs);
  const two = runs.find((r) => r.kind === 'two');
  return {
    bench: 'cluster', when: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, mem_gb: +(totalmem() / 2 ** 30).toFixed(1), node: process.version },
    load_average: { start: load[0], end: load[1] ?? null },
    rate: RATE, gateways: GATEWAYS, warmup_s: WARMUP_S, duration_s: SECONDS, lease_ttl_s: LEASE_TTL_S, forced_every: FORCED_EVERY,
    postgres: 'PostgreSQL 15, its defaults (fsync, synchronous_commit on)',
    scenarios: Object.fromEntries(runs.map((r) => [r.kind, {
      nodes: r.nodes, gateways: r.gateways, events: r.events, events_per_s: f1(r.events_per_s),
      hub_cpu_us_per_event: r.cpu.nodes.map(f1), postgres_cpu_us_per_event: f1(r.cpu.pg), redis_cpu_us_per_event: f1(r.cpu.redis), haproxy_cpu_us_per_event: f1(r.cpu.haproxy),
      hub_rss_mb: r.mem.nodes.map((x) => f1(x.rssMb)), hub_rss_peak_mb: r.mem.nodes.map((x) => f1(x.peakMb)), postgres_pss_mb: f1(r.mem.pg_mb), redis_rss_mb: f1(r.mem.redis_mb), haproxy_rss_mb: f1(r.mem.haproxy_mb),
      ack_p50_ms: f2(r.ack_p50_ms), ack_p99_ms: f2(r.ack_p99_ms), alert: r.alert, partitions: r.leases, totals: r.totals,
      ...(r.kill ? { kill: { samples: r.kill.samples, missing: r.kill.missing, p50_ms: r.kill.p50_ms, p99_ms: r.kill.p99_ms, max_ms: r.kill.max_ms, partitions_after: r.kill.leasesAfter, reconnects: r.kill.reconnects } } : {}),
    }])),
    targets: {
      hub_ratio_vs_embedded: { value: f2(m.hub_ratio_vs_embedded), target: '<= 1.5' },
      two_vs_one_model: { value: f2(m.two_vs_one), balanced: f2(m.two_vs_one_balanced), flat: f2(m.two_vs_one_flat), flat_balanced: f2(m.two_vs_one_flat_balanced), target: '>= 1.7' },
      partitions_per_node: { value: two?.leases.end ?? null, target: '32 ± 5' },
      alert_p99_steady_ms: { value: Object.fromEntries(runs.map((r) => [r.kind, Math.round(r.alert.p99_ms)])), target: '<= 1000' },
      alert_p99_kill_ms: { value: two?.kill ? Math.round(two.kill.p99_ms) : null, target: `<= ${(LEASE_TTL_S + 5) * 1000}` },
    },
    model: { ...m, capacity_one: Math.round(m.capacity_one), capacity_two: Math.round(m.capacity_two), capacity_two_balanced: Math.round(m.capacity_two_balanced), cell_events_per_s: Math.round(m.cell_events_per_s), two_vs_one: f2(m.two_vs_one), two_vs_one_balanced: f2(m.two_vs_one_balanced), hub_ratio_vs_embedded: f2(m.hub_ratio_vs_embedded) },
  };
}
