/**
 * Hub benchmark (issues 4 and 16): N gateway processes publishing QoS 1 ~200-byte events → hub, in
 * one run beside each other:
 *   - the hub → InfluxDB (bench/hub-influx.ts): stored events/s, ingest latency (publish → PUBACK;
 *     the hub acks once the event is durable) and stored latency (event time → write acknowledged by
 *     InfluxDB, from the hub's rb_influx_write_lag_seconds; RB_BENCH_POLL_STORED=1 polls InfluxDB for
 *     a sample instead: publish → visible), hub RSS, CPU µs per event of the hub and of influxd, the
 *     hub's own ingest times;
 *   - the hub on its embedded SQLite hub.db and on a real PostgreSQL 15 (`--db-url`, started here
 *     with its production defaults: fsync and synchronous_commit on) (bench/hub-db.ts): stored
 *     events/s, hub µs per event, PostgreSQL's own µs per event (postmaster + backends);
 *   - the previous release's hub, InfluxDB and embedded, built from RB_BENCH_BASELINE_REF in a temp
 *     git worktree (bench/hub-baseline.ts);
 *   - the same publishers → bare Mosquitto → one Node QoS 1 subscriber (a broker that does no work
 *     per message), and the Telegraf way: → bare Mosquitto → a Node subscriber → batched line protocol
 *     into the same influxd, neither durable nor deduplicated nor validated (bench/hub-mosquitto.ts);
 *     the hub, doing strictly more, is set against it as ratio_vs_mosquitto_influx;
 *   - the hub's RSS with 10,000 idle authenticated gateway connections (bench/hub-idle.ts).
 * CPU µs per event over the measured window stays put on a busy machine, where events/s does not.
 *
 *   npm run bench:hub     (RB_BENCH_PUBLISHERS, RB_BENCH_DURATION_S, RB_BENCH_WARMUP_S, RB_BENCH_WINDOW,
 *                          RB_BENCH_CONNECTIONS to resize; RB_BENCH_POLL_STORED=1, RB_BENCH_SAMPLE_EVERY; RB_BENCH_ONLY=a,b… of
 *                          hub|sqlite|postgres|baseline|mosquitto|telegraf|idle for some parts;
 *                          RB_BENCH_BASELINE_REF=<git ref> for another baseline, RB_BENCH_BASELINE=off for none;
 *                          RB_BENCH_ROUNDS=n alternates the embedded current/baseline runs n times;
 *                          RB_BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the hubs)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInfluxd } from '../test/support/influxd.js';
import { startPostgres } from '../test/support/postgres.js';
import { prepareBaseline, type Baseline } from './hub-baseline.js';
import { CURRENT, log } from './hub-common.js';
import { hubDbRun } from './hub-db.js';
import { idleRun } from './hub-idle.js';
import { hubInfluxRun } from './hub-influx.js';
import { mosquittoRun, telegrafRun } from './hub-mosquitto.js';
import { printReport, resultJson, type Runs } from './hub-report.js';

const ROUNDS = Math.max(1, Number(process.env.RB_BENCH_ROUNDS ?? 1));
type Run = Record<string, number>;

/** The run of median hub µs/event, with every round's events/s and µs/event beside it. */
function medianRun(rs: Run[]): Run | undefined {
  if (rs.length === 0) return undefined;
  const sorted = [...rs].sort((a, b) => a.hub_cpu_us_per_event! - b.hub_cpu_us_per_event!);
  const out: Run = { ...sorted[Math.floor((sorted.length - 1) / 2)]!, rounds: rs.length };
  rs.forEach((r, i) => Object.assign(out, { [`round_${i + 1}_events_per_s`]: r.events_per_s!, [`round_${i + 1}_hub_cpu_us_per_event`]: r.hub_cpu_us_per_event! }));
  return out;
}

const PARTS = ['hub', 'sqlite', 'postgres', 'baseline', 'mosquitto', 'telegraf', 'idle'] as const;

async function main(): Promise<void> {
  const only = process.env.RB_BENCH_ONLY?.split(',').filter(Boolean);
  for (const p of only ?? []) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`RB_BENCH_ONLY: unknown part ${p} (${PARTS.join(', ')})`);
  const want = (p: (typeof PARTS)[number]): boolean => !only || only.includes(p);
  const withBaseline = want('baseline') && process.env.RB_BENCH_BASELINE !== 'off';
  const load = [loadavg()];
  const dir = mkdtempSync(join(tmpdir(), 'rb-bench-hub-'));
  const influx = await startInfluxd();
  let baseline: Baseline | undefined;
  try {
    if (withBaseline) baseline = prepareBaseline();
    const runs: Runs = {};
    // Current and baseline side by side, so drift on a shared machine touches both alike.
    if (want('hub')) runs.influx = await hubInfluxRun(influx, dir, CURRENT, 'rb_bench');
    // The baseline beside the current parts chosen (both when it is chosen alone).
    const mirror = (p: 'hub' | 'sqlite'): boolean => baseline !== undefined && (want(p) || !only!.some((o) => o === 'hub' || o === 'sqlite'));
    if (mirror('hub')) runs.baselineInflux = await hubInfluxRun(influx, dir, baseline!, 'rb_bench_baseline');
    // Embedded, current and baseline alternating RB_BENCH_ROUNDS times (default 1): each side's run
    // of median hub µs/event is reported, every round's figures are kept in the JSON.
    const cur: Run[] = [];
    const old: Run[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (want('sqlite')) cur.push(await hubDbRun(dir, CURRENT, { engine: 'sqlite' }, round));
      if (mirror('sqlite')) old.push(await hubDbRun(dir, baseline!, { engine: 'sqlite' }, round));
    }
    runs.sqlite = medianRun(cur);
    runs.baselineSqlite = medianRun(old);
    if (want('postgres')) {
      const server = await startPostgres({ production: true });
      try {
        runs.postgres = await hubDbRun(dir, CURRENT, { engine: 'postgres', server });
      } finally {
        await server.stop();
      }
    }
    if (want('mosquitto')) runs.mosquitto = await mosquittoRun();
    if (want('telegraf')) runs.telegraf = await telegrafRun(influx);
    if (want('idle')) runs.idle = await idleRun(influx, dir);
    load.push(loadavg());

    printReport(runs, baseline, load);
    const out = resultJson(runs, baseline, load);
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    // A partial run (RB_BENCH_ONLY) goes to its own file, so latest.json always holds a whole run.
    const name = only ? `latest-${only.join('-')}.json` : 'latest.json';
    const file = new URL(`./results/${name}`, import.meta.url);
    // bench:notify's and bench:cluster's keys live in the same file (bench/notify.ts, bench/cluster.ts): kept.
    const prev = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { notify?: unknown; cluster?: unknown }) : {};
    const kept = Object.fromEntries(Object.entries({ notify: prev.notify, cluster: prev.cluster }).filter(([, v]) => v !== undefined));
    writeFileSync(file, `${JSON.stringify({ ...out, ...kept }, null, 2)}\n`);
    log(`wrote bench/results/${name}`);
  } finally {
    baseline?.remove();
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
