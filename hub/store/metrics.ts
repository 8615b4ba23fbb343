import { Counter, Gauge, Histogram } from 'prom-client';
import { fastObserver } from '../metrics-fast.js';
import type { InfluxEventStore } from './influx.js';
import type { Metrics } from '../metrics.js';
import type { EventStore } from './types.js';
import type { WriterStats } from './influx-writer-types.js';

/**
 * Expose the InfluxDB writer's counters on /metrics, read at scrape time (the writer keeps plain
 * numbers; prom-client asks for them only when Prometheus does). No-op for the SQLite store.
 */
export function registerStoreMetrics(metrics: Metrics, store: EventStore): void {
  const withStats = store as EventStore & { stats?: () => WriterStats };
  if (store.kind !== 'influxdb' || typeof withStats.stats !== 'function') return;
  const stats = (): WriterStats | undefined => {
    try {
      return withStats.stats!();
    } catch {
      return undefined; // not started yet
    }
  };
  const registers = [metrics.registry];
  // How far behind InfluxDB is: from an event's time to InfluxDB acknowledging the write that held it
  // (direct writes; a device clock ahead counts as 0).
  const lag = fastObserver(
    new Histogram({
      name: 'rb_influx_write_lag_seconds',
      help: "From an event's time (its ts) to InfluxDB acknowledging the write that held it",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300],
      registers,
    }),
  );
  const influx = store as Partial<InfluxEventStore>;
  influx.onWritten?.((times, at) => {
    for (const t of times) lag(at > t ? (at - t) / 1000 : 0);
  });
  const gauge = (name: string, help: string, read: (s: WriterStats) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const s = stats();
        if (s) this.set(read(s));
      },
    });
  // Counters from running totals: add what grew since the last scrape.
  const counter = (name: string, help: string, read: (s: WriterStats) => number) => {
    let last = 0;
    return new Counter({
      name,
      help,
      registers,
      collect() {
        const s = stats();
        if (!s) return;
        const now = read(s);
        if (now > last) this.inc(now - last);
        last = now;
      },
    });
  };
  gauge('rb_influx_spool_depth', 'Points waiting in the disk spool for InfluxDB', (s) => s.spoolDepth);
  gauge('rb_influx_spool_mode', '1 while writes go to the spool (InfluxDB down or the spool not drained), else 0', (s) => (s.mode === 'spool' ? 1 : 0));
  gauge('rb_influx_write_requests_in_flight', 'InfluxDB write requests in flight', (s) => s.inFlight);
  gauge('rb_influx_dead_letters', 'Points refused for good, kept in the dead-letter table', (s) => s.deadLetterTotal);
  counter('rb_influx_points_spooled_total', 'Points put in the disk spool', (s) => s.spooled);
  counter('rb_influx_points_replayed_total', 'Spooled points written to InfluxDB', (s) => s.replayed);
  counter('rb_influx_points_written_total', 'Points written to InfluxDB directly', (s) => s.written);
  counter('rb_influx_points_dead_lettered_total', 'Points refused for good (InfluxDB 400 or not encodable)', (s) => s.deadLettered);
  counter('rb_influx_write_retries_total', 'Failed InfluxDB write attempts that will be retried', (s) => s.retries);
}

/** The event log's InfluxDB consumer (hub/store/influx-sink.ts) on /metrics. */
export function registerSinkMetrics(metrics: Metrics, sink: { stats(): { backlog: number; cursorFailures: number; writeFailures: number } }): void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'rb_influx_sink_backlog',
    help: 'Events acknowledged (in the event log) and handed to the InfluxDB writer, neither written nor spooled yet; at influx.maxBacklog the hub stops acknowledging',
    registers,
    collect() {
      this.set(sink.stats().backlog);
    },
  });
  let lastFailures = 0;
  new Counter({
    name: 'rb_influx_sink_write_failures_total',
    help: 'Times neither InfluxDB nor the spool took a batch of events from the log (tried again; the cursor waits)',
    registers,
    collect() {
      const now = sink.stats().writeFailures;
      if (now > lastFailures) this.inc(now - lastFailures);
      lastFailures = now;
    },
  });
}
