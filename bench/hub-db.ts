/**
 * The hub benchmark without InfluxDB (bench/hub.ts): N publishers → hub → its own database, the
 * embedded SQLite file or a real PostgreSQL 15 (`--db-url`). The hub acks once the event is
 * committed, so stored events/s is counted from the database's events table after the run (events
 * of the measured windows only, by their publish time). With PostgreSQL, its own CPU (postmaster
 * and backends, bench/lib.ts treeCpuMeter) beside the hub's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Postgres } from '../test/support/postgres.js';
import { DURATION_S, PUBLISHERS, WARMUP_S, WINDOW, hubIngestTimes, log, mid, provisionAll, runPublishers, startHub, sum, worst, type Creds, type HubBuild, type PubReport } from './hub-common.js';
import { cpuMeter, procRss, stopChild, treeCpuMeter } from './lib.js';

export type DbTarget = { engine: 'sqlite' } | { engine: 'postgres'; server: Postgres };

const COUNT = 'SELECT count(*) AS n FROM events WHERE gateway = $1 AND ts >= $2 AND ts < $3';

/** Events of the measured windows in the embedded store: hub.db, or a previous release's events.db. */
function sqliteStored(dataDir: string, creds: Creds[], reports: PubReport[]): number {
  const file = existsSync(join(dataDir, 'events.db')) ? join(dataDir, 'events.db') : join(dataDir, 'hub.db');
  const db = new Database(file, { readonly: true });
  try {
    const q = db.prepare<[string, number, number], { n: number }>(COUNT.replace(/\$\d/g, '?'));
    return creds.reduce((a, c, k) => a + q.get(c.gateway, reports[k]!.from_ms, reports[k]!.to_ms)!.n, 0);
  } finally {
    db.close();
  }
}

async function postgresStored(url: string, creds: Creds[], reports: PubReport[]): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let n = 0;
    for (const [k, c] of creds.entries()) n += Number((await client.query<{ n: string }>(COUNT, [c.gateway, reports[k]!.from_ms, reports[k]!.to_ms])).rows[0]!.n);
    return n;
  } finally {
    await client.end();
  }
}

/** The postmaster's PID (first line of postmaster.pid; `runuser` is only its parent). */
function postmasterPid(server: Postgres): number {
  const pid = Number(readFileSync(join(server.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error('no postmaster.pid');
  return pid;
}

/** Hub of `build` on its own database (`target`), no InfluxDB. */
export async function hubDbRun(dir: string, build: HubBuild, target: DbTarget, round = 0): Promise<Record<string, number>> {
  const dataDir = join(dir, `hub-${build.label}-${target.engine}-${round}`);
  const dbUrl = target.engine === 'postgres' ? await target.server.createDatabase(`rb_bench_${build.label.replace(/\W/g, '_')}`) : undefined;
  const pgCpu = target.engine === 'postgres' ? treeCpuMeter(postmasterPid(target.server)) : undefined;
  const hub = await startHub(build, dataDir, { dbUrl });
  let creds: Creds[];
  let reports: PubReport[];
  let rest: Record<string, number>;
  try {
    creds = await provisionAll(hub.http);
    log(`hub (${build.label}) on ${target.engine}: ${PUBLISHERS} publishers, window ${WINDOW}, ${WARMUP_S} s warm-up + ${DURATION_S} s…`);
    let peakDuring = 0;
    const timer = setInterval(() => (peakDuring = Math.max(peakDuring, procRss(hub.proc.pid!).rssMb)), 250);
    const cpu = cpuMeter([hub.proc.pid]);
    const cpuStart = setTimeout(() => (cpu.start(), pgCpu?.start()), WARMUP_S * 1000 + 1000);
    reports = await runPublishers(hub.mqtt, creds);
    const [hubCores] = cpu.stop();
    const pgCores = pgCpu?.stop();
    clearTimeout(cpuStart);
    clearInterval(timer);
    const rss = procRss(hub.proc.pid!);
    rest = { rss_mb: Math.max(peakDuring, rss.rssMb), rss_mb_peak: rss.peakMb, hub_cpu_cores: hubCores!, ...(pgCores === undefined ? {} : { postgres_cpu_cores: pgCores }), ...(await hubIngestTimes(hub.http)) };
  } finally {
    await stopChild(hub.proc);
  }
  const stored = dbUrl ? await postgresStored(dbUrl, creds, reports) : sqliteStored(dataDir, creds, reports);
  const perS = stored / DURATION_S;
  return {
    sent: sum(reports, 'sent'), acked: sum(reports, 'acked'), stored, events_per_s: perS,
    // Per publisher percentiles: the median publisher's p50, the worst publisher's p99.
    p50_ingest_ms: mid(reports, 'p50_ack_ms'), p99_ingest_ms: worst(reports, 'p99_ack_ms'),
    ...rest,
    // CPU per stored event: robust to a busy machine, unlike events/s.
    hub_cpu_us_per_event: (rest.hub_cpu_cores! * 1e6) / perS,
    ...(rest.postgres_cpu_cores === undefined ? {} : { postgres_cpu_us_per_event: (rest.postgres_cpu_cores * 1e6) / perS }),
  };
}
