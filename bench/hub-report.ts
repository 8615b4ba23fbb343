/**
 * The hub benchmark's output (bench/hub.ts): one table of every path measured in the run, the notes
 * under it, and bench/results/latest.json (the keys issue 4 wrote, plus `embedded`, `postgres` and
 * `baseline`).
 */
import { cpus, totalmem } from 'node:os';
import type { Baseline } from './hub-baseline.js';
import { CONNECTIONS, DURATION_S, POLL_STORED, PUBLISHERS, SAMPLE_EVERY, WARMUP_S, WINDOW } from './hub-common.js';
import { table } from './lib.js';

type Run = Record<string, number>;
export interface Runs { influx?: Run; sqlite?: Run; postgres?: Run; baselineInflux?: Run; baselineSqlite?: Run; mosquitto?: Run; telegraf?: Run; idle?: Run }

const r2 = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : +x.toFixed(2));
const r1 = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : +x.toFixed(1));
const ratio = (a: Run | undefined, b: Run | undefined): number => (a && b ? a.events_per_s! / b.events_per_s! : NaN);
const fmt = (x: number | undefined, digits = 1): string | number => (x === undefined || !Number.isFinite(x) ? '-' : +x.toFixed(digits));

export function printReport(runs: Runs, baseline: Baseline | undefined, load: number[][]): void {
  const { influx: h, sqlite: e, postgres: p, baselineInflux: bh, baselineSqlite: be, mosquitto: m, telegraf: tw, idle } = runs;
  const base = baseline ? `baseline ${baseline.commit.slice(0, 7)}` : '';
  console.log(`\nHub benchmark — ${PUBLISHERS} publisher processes, QoS 1, window ${WINDOW} each, ${WARMUP_S} s warm-up + ${DURATION_S} s measured; ${new Date().toISOString()}; load average ${load.map((l) => l.map((x) => x.toFixed(2)).join(' ')).join(' → ')}`);
  const rows: Array<Record<string, string | number>> = [];
  const row = (path: string, r: Run, o: { events?: number; ackP50?: number; ackP99?: number; stored?: [number, number]; us?: number; dbUs?: number }): void =>
    void rows.push({
      path, sent: r.sent!, stored: o.events ?? r.stored!, 'events/s': Math.round(r.events_per_s!), 'vs mosquitto': m ? fmt(ratio(r, m), 2) : '-',
      'ack p50 ms': fmt(o.ackP50 ?? r.p50_ingest_ms), 'ack p99 ms': fmt(o.ackP99 ?? r.p99_ingest_ms),
      'stored p50 ms': fmt(o.stored?.[0]), 'stored p99 ms': fmt(o.stored?.[1]),
      'hub µs/ev': fmt(o.us ?? r.hub_cpu_us_per_event), 'db µs/ev': fmt(o.dbUs),
    });
  if (h) row('hub → InfluxDB', h, { stored: [h.p50_stored_ms!, h.p99_stored_ms!], dbUs: h.influxd_cpu_us_per_event });
  if (bh) row(`hub → InfluxDB (${base})`, bh, { stored: [bh.p50_stored_ms!, bh.p99_stored_ms!], dbUs: bh.influxd_cpu_us_per_event });
  if (e) row('hub, embedded SQLite', e, {});
  if (be) row(`hub, embedded SQLite (${base})`, be, {});
  if (p) row('hub → PostgreSQL 15', p, { dbUs: p.postgres_cpu_us_per_event });
  if (m) row('bare mosquitto → 1 subscriber', m, { events: m.delivered, ackP50: m.p50_ack_ms, ackP99: m.p99_ack_ms, us: m.mosquitto_cpu_us_per_event });
  if (tw) row('mosquitto → subscriber → InfluxDB (Telegraf way)', tw, { ackP50: tw.p50_ack_ms, ackP99: tw.p99_ack_ms, stored: [tw.p50_stored_ms!, tw.p99_stored_ms!], us: tw.cpu_us_per_event, dbUs: tw.influxd_cpu_us_per_event });
  if (rows.length) console.log(table(rows));
  console.log(`\nstored = events of the measured windows in the store; ack = publish → PUBACK (the hub acks once the event is committed to hub.db / PostgreSQL, the InfluxDB store's points follow from the log); stored latency = ${POLL_STORED ? `publish → visible in InfluxDB, polled every 20 ms for every ${SAMPLE_EVERY}th event` : "event time → write acknowledged by InfluxDB: the hub's rb_influx_write_lag_seconds over the measured window (interpolated in its buckets; - for a hub without it), the Telegraf way's subscriber on a sample"}. p50 = median publisher, p99 = worst publisher. hub µs/ev = CPU of the hub process over the measured window per stored event (mosquitto's for bare mosquitto; mosquitto + subscriber for the Telegraf way); db µs/ev = influxd's, or PostgreSQL's own (postmaster + backends; the embedded SQLite runs inside the hub's figure).`);
  if (baseline && (bh || be)) {
    const cmp = (cur: Run | undefined, old: Run | undefined, what: string): string =>
      cur && old ? `${what}: events/s ×${ratio(cur, old).toFixed(2)}, hub µs/event ${cur.hub_cpu_us_per_event!.toFixed(1)} vs ${old.hub_cpu_us_per_event!.toFixed(1)} (${(cur.hub_cpu_us_per_event! - old.hub_cpu_us_per_event!).toFixed(1)})` : '';
    console.log(`Current vs baseline ${baseline.ref} (${baseline.commit.slice(0, 7)} ${baseline.subject}), same run: ${[cmp(h, bh, 'InfluxDB'), cmp(e, be, 'embedded')].filter(Boolean).join('; ')}.`);
  }
  if (tw) {
    console.log(`\nTelegraf way (bench/telegraf-way.ts): Mosquitto acks at once, one Node QoS 1 subscriber writes line protocol in batches of ${tw.batch_size} to the same influxd; not durable, not deduplicated, not validated. ${tw.subscriber_received} received, ${tw.subscriber_written} written in ${tw.subscriber_requests} requests, ${tw.subscriber_write_errors} refused; its stored latency is publish → write acknowledged by InfluxDB, timed by the subscriber (${tw.stored_samples} samples). CPU (until the last event was stored): mosquitto ${tw.mosquitto_cpu_cores!.toFixed(2)} + subscriber ${tw.subscriber_cpu_cores!.toFixed(2)} cores.${h ? ` Hub ÷ Telegraf way, stored events/s: ${ratio(h, tw).toFixed(2)} (target >= 1.0). Storing ended ${h.drain_s!.toFixed(1)} s (hub) and ${tw.drain_s!.toFixed(1)} s (Telegraf way) after publishing did.` : ` Storing ended ${tw.drain_s!.toFixed(1)} s after publishing did.`}`);
  }
  if (h) {
    console.log(`\nHub → InfluxDB, inside the hub (its /metrics, means): PUBLISH → verdict ${h.hub_mean_ack_ms!.toFixed(2)} ms; validate ${h.hub_mean_validate_ms!.toFixed(3)} ms/message; per batch of ${h.hub_mean_batch_events!.toFixed(1)} events: queue ${h.hub_mean_queue_ms!.toFixed(2)} ms, store ${h.hub_mean_store_ms!.toFixed(2)} ms, dedup ${h.hub_mean_dedup_ms!.toFixed(2)} ms. ${POLL_STORED ? `Stored-latency samples ${h.stored_samples}/${h.stored_samples_taken} seen.` : `Write lag measured on ${h.stored_lag_events} events.`}`);
    console.log(`Hub RSS under load: ${h.rss_mb!.toFixed(0)} MiB (peak ${h.rss_mb_peak!.toFixed(0)} MiB); CPU cores: hub ${h.hub_cpu_cores!.toFixed(2)}, influxd ${h.influxd_cpu_cores!.toFixed(2)}${p ? `; on PostgreSQL: hub ${p.hub_cpu_cores!.toFixed(2)}, postgres ${p.postgres_cpu_cores!.toFixed(2)}` : ''}${m ? `; mosquitto ${m.mosquitto_cpu_cores!.toFixed(2)}` : ''}.`);
  }
  if (idle) {
    const measured = CONNECTIONS >= 10_000;
    console.log(`\n${table([{ 'idle gateways': CONNECTIONS, 'connect s': idle.connect_s!, 'hub RSS before MiB': idle.rss_mb_before!, 'after MiB': idle.rss_mb_after!, 'KiB/conn': idle.kib_per_connection!, [`10k ${measured ? '(measured)' : '(extrapolated)'} MiB`]: idle.rss_mb_10k! }])}`);
    console.log('Idle gateways: authenticated (CONNECT with credentials, own client id) and subscribed to their command topic; registry hashes use scrypt N=16 so 10k logins take seconds, not 10+ minutes.');
  }
  console.log('Targets: stored/s >= 0.7x bare mosquitto and >= 1.0x the Telegraf way; embedded not below the baseline; 10k idle connections <= 1 GiB hub RSS.');
}

/** The short form of one hub run on its own database, for latest.json. */
const dbSummary = (r: Run | undefined, m: Run | undefined): Record<string, unknown> | null =>
  r
    ? {
        events_per_s: Math.round(r.events_per_s!), ratio_vs_mosquitto: r2(ratio(r, m)), hub_cpu_us_per_event: r1(r.hub_cpu_us_per_event),
        ...(r.postgres_cpu_us_per_event === undefined ? {} : { postgres_cpu_us_per_event: r1(r.postgres_cpu_us_per_event) }),
        p50_ingest_ms: r2(r.p50_ingest_ms), p99_ingest_ms: r2(r.p99_ingest_ms), run: r,
      }
    : null;

export function resultJson(runs: Runs, baseline: Baseline | undefined, load: number[][]): Record<string, unknown> {
  const { influx: h, sqlite: e, postgres: p, baselineInflux: bh, baselineSqlite: be, mosquitto: m, telegraf: tw, idle } = runs;
  const side = (cur: Run | undefined, old: Run | undefined): Record<string, unknown> | null =>
    old
      ? {
          events_per_s: Math.round(old.events_per_s!), hub_cpu_us_per_event: r1(old.hub_cpu_us_per_event), ratio_vs_mosquitto: r2(ratio(old, m)),
          current_events_per_s: cur ? Math.round(cur.events_per_s!) : null, current_hub_cpu_us_per_event: r1(cur?.hub_cpu_us_per_event),
          current_vs_baseline_events_per_s: r2(ratio(cur, old)), run: old,
        }
      : null;
  return {
    bench: 'hub', when: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, mem_gb: +(totalmem() / 2 ** 30).toFixed(1), node: process.version },
    load_average: { start: load[0], end: load[1] ?? null },
    publishers: PUBLISHERS, window: WINDOW, warmup_s: WARMUP_S, duration_s: DURATION_S,
    ratio_vs_mosquitto: r2(ratio(h, m)),
    ratio_vs_mosquitto_influx: r2(ratio(h, tw)),
    events_per_s: h ? Math.round(h.events_per_s!) : null,
    mosquitto_events_per_s: m ? Math.round(m.events_per_s!) : null,
    mosquitto_influx_events_per_s: tw ? Math.round(tw.events_per_s!) : null,
    p50_ingest_ms: r2(h?.p50_ingest_ms), p99_ingest_ms: r2(h?.p99_ingest_ms),
    p50_stored_ms: r1(h?.p50_stored_ms), p99_stored_ms: r1(h?.p99_stored_ms),
    rss_mb_hub_load: h ? Math.round(h.rss_mb!) : null,
    hub_cpu_us_per_event: r1(h?.hub_cpu_us_per_event),
    mosquitto_cpu_us_per_event: r1(m?.mosquitto_cpu_us_per_event),
    mosquitto_influx_cpu_us_per_event: r1(tw?.cpu_us_per_event),
    rss_mb_10k_connections: idle ? Math.round(idle.rss_mb_10k!) : null,
    rss_10k_connections_method: idle ? (CONNECTIONS >= 10_000 ? `measured with ${CONNECTIONS} connections` : `extrapolated linearly from ${CONNECTIONS} connections`) : null,
    hub: h ?? null, mosquitto: m ?? null, mosquitto_influx: tw ?? null, idle: idle ?? null,
    embedded: dbSummary(e, m),
    postgres: p ? { server: 'PostgreSQL 15, its defaults (fsync, synchronous_commit on)', ...dbSummary(p, m) } : null,
    baseline: baseline
      ? { ref: baseline.ref, commit: baseline.commit, subject: baseline.subject, influx: side(h, bh), embedded: side(e, be) }
      : null,
  };
}
