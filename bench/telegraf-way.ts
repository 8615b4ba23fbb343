/**
 * The baseline a user would assemble by hand instead of Red Butler, the Telegraf way (a child
 * process of bench/hub.ts): one Node mqtt.js QoS 1 subscriber on a bare Mosquitto that turns each
 * event into an InfluxDB line and writes batches over HTTP `/write`, as Telegraf's mqtt_consumer →
 * influxdb output does. It is neither durable (the broker's PUBACK comes before the write; what is
 * in memory is lost with the process), nor deduplicated (a redelivery is written again), nor
 * validated (any JSON object becomes a point). Points land where the hub puts them (retention policy
 * "raw", measurement "events", tags estate/gateway/device/type, fields id/seq/data/received_at, time
 * ts·10⁶ + seq mod 10⁶ ns), so the bench counts and samples both the same way.
 *
 * Batches like the hub's writer: up to RB_TW_BATCH points (the hub's influxBatchSize), a partial
 * batch goes at once when no request is open and waits at most RB_TW_FLUSH_MS otherwise, at most
 * RB_TW_MAX_INFLIGHT requests open. Prints `ready` once subscribed; on SIGTERM flushes and prints
 * one JSON line {received, written, write_errors, parse_errors, requests, last_write_at (epoch ms),
 * stored: [[ts, ms], …]}: for every RB_TW_SAMPLE_EVERY-th point, its event time (the publisher's
 * clock at publish, the same host) and publish → write acknowledged by InfluxDB, in ms (a point is
 * visible to queries once its write is acknowledged); writes: [[at, written so far], …] per
 * acknowledged request (epoch ms), from which the bench takes the rate it stored at.
 *
 *   node --import tsx bench/telegraf-way.ts   (RB_TW_MQTT, RB_TW_INFLUX = http://host:port/db)
 */
import mqtt from 'mqtt';

const env = (k: string, d?: string): string => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const MQTT_URL = env('RB_TW_MQTT');
const INFLUX = new URL(env('RB_TW_INFLUX'));
const DB = INFLUX.pathname.slice(1);
const BATCH = Number(env('RB_TW_BATCH', '5000'));
const FLUSH_MS = Number(env('RB_TW_FLUSH_MS', '100'));
const MAX_INFLIGHT = Number(env('RB_TW_MAX_INFLIGHT', '4'));
const SAMPLE_EVERY = Number(env('RB_TW_SAMPLE_EVERY', '50'));
const WRITE_URL = `${INFLUX.origin}/write?${new URLSearchParams({ db: DB, rp: 'raw', precision: 'ns' })}`;

async function query(q: string): Promise<void> {
  const res = await fetch(`${INFLUX.origin}/query`, { method: 'POST', body: new URLSearchParams({ q }) });
  if (!res.ok) throw new Error(`${q}: HTTP ${res.status} ${await res.text()}`);
}

const tag = (v: unknown): string => String(v).replace(/[,= ]/g, '\\$&');
const str = (v: string): string => `"${v.replace(/[\\"]/g, '\\$&')}"`;

const stats = { received: 0, written: 0, write_errors: 0, parse_errors: 0, requests: 0, last_write_at: 0 };
const stored: Array<[number, number]> = [];
const writes: Array<[number, number]> = [];
type Batch = { lines: string[]; sampled: number[] };
let current: Batch = { lines: [], sampled: [] };
const queue: Batch[] = [];
let inflight = 0;
let timer: NodeJS.Timeout | undefined;
let idle: (() => void) | undefined;

function cut(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  if (current.lines.length > 0) queue.push(current);
  current = { lines: [], sampled: [] };
  pump();
}

function pump(): void {
  while (inflight < MAX_INFLIGHT && queue.length > 0) {
    const { lines, sampled } = queue.shift()!;
    inflight++;
    stats.requests++;
    fetch(WRITE_URL, { method: 'POST', body: lines.join('\n') })
      .then(async (res) => {
        await res.arrayBuffer();
        if (res.status === 204) {
          const now = Date.now();
          stats.written += lines.length;
          stats.last_write_at = now;
          for (const ts of sampled) stored.push([ts, now - ts]);
          writes.push([now, stats.written]);
        } else stats.write_errors += lines.length;
      })
      .catch(() => (stats.write_errors += lines.length))
      .finally(() => {
        inflight--;
        if (inflight === 0 && queue.length === 0 && current.lines.length > 0) cut();
        else pump();
        if (inflight === 0 && queue.length === 0 && current.lines.length === 0) idle?.();
      });
  }
}

function add(line: string, ts: number): void {
  current.lines.push(line);
  if (stats.received % SAMPLE_EVERY === 0) current.sampled.push(ts);
  if (current.lines.length >= BATCH) cut();
  else if (!timer) timer = setTimeout(cut, inflight === 0 ? 0 : FLUSH_MS);
}

async function main(): Promise<void> {
  await query(`CREATE DATABASE "${DB}"`);
  await query(`CREATE RETENTION POLICY "raw" ON "${DB}" DURATION 30d REPLICATION 1 DEFAULT`);
  const client = await mqtt.connectAsync(MQTT_URL, { clientId: 'telegraf-way', clean: true, reconnectPeriod: 0, keepalive: 30 });
  client.on('message', (_topic, payload) => {
    stats.received++;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(payload.toString()) as Record<string, unknown>;
    } catch {
      stats.parse_errors++;
      return;
    }
    const ts = Number(e.ts);
    const seq = Number(e.seq);
    add(
      `events,estate=${tag(e.estate)},gateway=${tag(e.gateway)},device=${tag(e.device)},type=${tag(e.type)} ` +
        `id=${str(String(e.id))},seq=${seq}i,data=${str(JSON.stringify(e.data ?? null))},received_at=${Date.now()}i ` +
        `${ts}${String(seq % 1_000_000).padStart(6, '0')}`,
      ts,
    );
  });
  await client.subscribeAsync('rb/v1/+/+/+/event', { qos: 1 });
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void (async () => {
      await client.endAsync();
      cut();
      if (inflight > 0 || queue.length > 0) await new Promise<void>((r) => (idle = r));
      // Exit once the pipe has taken it all: writes to a pipe are asynchronous, and an exit right after
      // a large one (a fast run samples ~600k points) cut the report short.
      process.stdout.write(`${JSON.stringify({ ...stats, stored, writes })}\n`, () => process.exit(0));
    })();
  });
}

await main();
