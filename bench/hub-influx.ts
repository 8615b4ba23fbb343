/**
 * The hub benchmark's InfluxDB side (bench/hub.ts): counting what InfluxDB stored, when storing
 * ended, and the run N publishers → hub → InfluxDB, for this build or the baseline's.
 */
import { join } from 'node:path';
import type { Influxd } from '../test/support/influxd.js';
import { DURATION_S, POLL_STORED, PUBLISHERS, TOKEN, WARMUP_S, WINDOW, hubIngestTimes, log, mid, provisionAll, runPublishers, startHub, sum, worst, type Creds, type HubBuild, type PubReport } from './hub-common.js';
import { childPid, cpuMeter, procRss, sleep, stopChild } from './lib.js';

async function influxCount(influx: Influxd, db: string, gateway: string, fromMs: number, toMs: number): Promise<number> {
  // Bound parameters only, times too (RFC 3339 strings), as everywhere else.
  const q = 'SELECT count("id") FROM "raw"."events" WHERE "gateway" = $g AND time >= $from AND time < $to';
  const params = { g: gateway, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
  const url = new URL('/query', influx.url);
  url.searchParams.set('db', db);
  url.searchParams.set('q', q);
  url.searchParams.set('params', JSON.stringify(params));
  const res = await fetch(url);
  const body = (await res.json()) as { results?: Array<{ series?: Array<{ values?: unknown[][] }> }> };
  return Number(body.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
}

/** Points stored for the measured windows, once the count stops growing (writer batches, spool replay). */
export async function storedCount(influx: Influxd, db: string, creds: Creds[], reports: PubReport[]): Promise<number> {
  let last = -1;
  for (let i = 0; i < 60; i++) {
    const counts = await Promise.all(creds.map((c, k) => influxCount(influx, db, c.gateway, reports[k]!.from_ms, reports[k]!.to_ms)));
    const total = counts.reduce((a, b) => a + b, 0);
    if (total === last) return total;
    last = total;
    await sleep(500);
  }
  return last;
}

/**
 * When storing ends. Both pipelines ack before InfluxDB has the event (the hub once its event log has it,
 * Mosquitto at once), so publishing ends before storing does. From `startInMs` on (shortly before
 * the measured windows end), every 200 ms, counts the events of `db` from 3 s before that (cheap:
 * the last seconds only; both write in arrival order, so the newest are stored last); done() gives
 * the time the count last grew, i.e. when the last event was stored. Same method on both sides.
 */
export function watchStored(influx: Influxd, db: string, startInMs: number): { done(): Promise<number> } {
  let count = -1;
  let grewAt = 0;
  let stop = false;
  const poll = (async () => {
    await sleep(startInMs);
    const since = new Date(Date.now() - 3000).toISOString();
    grewAt = Date.now();
    while (!stop) {
      const url = new URL('/query', influx.url);
      url.searchParams.set('db', db);
      url.searchParams.set('q', 'SELECT count("id") FROM "raw"."events" WHERE time >= $since');
      url.searchParams.set('params', JSON.stringify({ since }));
      const body = (await (await fetch(url)).json().catch(() => ({}))) as { results?: Array<{ series?: Array<{ values?: unknown[][] }> }> };
      const n = Number(body.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
      if (n > count) [count, grewAt] = [n, Date.now()];
      await sleep(200);
    }
  })();
  return {
    async done() {
      // Settled once nothing new arrived for 2 s.
      while (grewAt === 0 || Date.now() - grewAt < 2000) await sleep(100);
      stop = true;
      await poll;
      return grewAt;
    },
  };
}

/** The hub's `rb_influx_write_lag_seconds` buckets (le → cumulative count); empty for a hub without it. */
async function lagBuckets(http: string): Promise<Array<[number, number]>> {
  const text = await (await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const out: Array<[number, number]> = [];
  for (const m of text.matchAll(/^rb_influx_write_lag_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)) out.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
  return out;
}

/**
 * Quantile q of the events counted between two bucket snapshots, in ms, interpolated linearly inside
 * its bucket (as Prometheus's histogram_quantile); NaN without events.
 */
function lagQuantileMs(from: Array<[number, number]>, to: Array<[number, number]>, q: number): number {
  const counts = to.map(([le, n], i) => [le, n - (from[i]?.[1] ?? 0)] as const);
  const total = counts.at(-1)?.[1] ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of counts) {
    if (n >= rank) return (le === Infinity ? prevLe : prevLe + ((le - prevLe) * (rank - prevN)) / Math.max(1, n - prevN)) * 1000;
    [prevLe, prevN] = [le, n];
  }
  return prevLe * 1000;
}

/** Seconds from the end of the measured windows to the last event stored. */
export const drainS = (reports: PubReport[], lastStoredAt: number): number => Math.max(0, (lastStoredAt - Math.max(...reports.map((r) => r.to_ms))) / 1000);

/** Hub: N publishers → hub → InfluxDB (database `db`), the hub of `build`. */
export async function hubInfluxRun(influx: Influxd, dir: string, build: HubBuild, db: string): Promise<Record<string, number>> {
  const hub = await startHub(build, join(dir, `hub-${build.label}-influx`), { influxUrl: `${influx.url}/${db}` });
  try {
    const creds = await provisionAll(hub.http);
    log(`hub (${build.label}) → InfluxDB: ${PUBLISHERS} publishers, window ${WINDOW}, ${WARMUP_S} s warm-up + ${DURATION_S} s…`);
    let peakDuring = 0;
    const timer = setInterval(() => (peakDuring = Math.max(peakDuring, procRss(hub.proc.pid!).rssMb)), 250);
    // CPU of the hub and of influxd over the measured window (publishers take ~1 s to start).
    const cpu = cpuMeter([hub.proc.pid, childPid('influxd')]);
    let lagFrom: Promise<Array<[number, number]>> = Promise.resolve([]);
    const cpuStart = setTimeout(() => {
      cpu.start();
      lagFrom = lagBuckets(hub.http);
    }, WARMUP_S * 1000 + 1000);
    const watch = watchStored(influx, db, (WARMUP_S + DURATION_S - 1) * 1000);
    const reports = await runPublishers(hub.mqtt, creds, POLL_STORED ? `${influx.url}/${db}` : undefined);
    const [hubCores, influxCores] = cpu.stop();
    clearTimeout(cpuStart);
    clearInterval(timer);
    const lastStoredAt = await watch.done();
    const [lagStart, lagEnd] = [await lagFrom, await lagBuckets(hub.http)];
    const stored = await storedCount(influx, db, creds, reports);
    const rss = procRss(hub.proc.pid!);
    const inside = await hubIngestTimes(hub.http);
    return {
      sent: sum(reports, 'sent'), acked: sum(reports, 'acked'), stored, events_per_s: stored / DURATION_S, drain_s: drainS(reports, lastStoredAt),
      // Per publisher percentiles: the median publisher's p50, the worst publisher's p99.
      p50_ingest_ms: mid(reports, 'p50_ack_ms'), p99_ingest_ms: worst(reports, 'p99_ack_ms'),
      ...(POLL_STORED
        ? { stored_samples: sum(reports, 'samples_seen'), stored_samples_taken: sum(reports, 'samples'), p50_stored_ms: mid(reports, 'p50_stored_ms'), p99_stored_ms: worst(reports, 'p99_stored_ms') }
        : {
            // The hub's own measure, over the events written from the measured window's start on.
            stored_lag_events: (lagEnd.at(-1)?.[1] ?? 0) - (lagStart.at(-1)?.[1] ?? 0),
            p50_stored_ms: lagQuantileMs(lagStart, lagEnd, 0.5), p99_stored_ms: lagQuantileMs(lagStart, lagEnd, 0.99),
          }),
      rss_mb: Math.max(peakDuring, rss.rssMb), rss_mb_peak: rss.peakMb,
      hub_cpu_cores: hubCores!, influxd_cpu_cores: influxCores!,
      // CPU per stored event: robust to a busy machine, unlike events/s.
      hub_cpu_us_per_event: (hubCores! * 1e6) / (stored / DURATION_S),
      influxd_cpu_us_per_event: (influxCores! * 1e6) / (stored / DURATION_S),
      ...inside,
    };
  } finally {
    await stopChild(hub.proc);
  }
}
