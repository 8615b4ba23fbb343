/**
 * One benchmark gateway (a child process of bench/hub.ts): publishes QoS 1 events of ~200 bytes
 * (protocol envelope, unique ULIDs) with a window of messages in flight, for warm-up + a measured
 * duration, then prints one JSON line on stdout:
 *   {from_ms, to_ms, sent, acked, p50_ack_ms, p99_ack_ms, samples, p50_stored_ms, p99_stored_ms}
 * counting only messages published inside the measured window. Ack latency = publish → PUBACK
 * (the hub acknowledges after the store took the event). With RB_PUB_INFLUX set, every
 * RB_PUB_SAMPLE_EVERY-th measured event is polled in InfluxDB until visible: publish → visible.
 *
 *   node --import tsx bench/publisher.ts   (configured by the RB_PUB_* environment variables)
 */
import mqtt from 'mqtt';
import { monotonicFactory } from 'ulid';
import { clientIdFor, topics, type RbEvent } from '../protocol/index.js';
import { percentile, sleep } from './lib.js';

const env = (k: string, d?: string): string => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const URL_ = env('RB_PUB_URL');
const ESTATE = env('RB_PUB_ESTATE');
const GATEWAY = env('RB_PUB_GATEWAY');
const USERNAME = env('RB_PUB_USERNAME', 'x');
const PASSWORD = env('RB_PUB_PASSWORD', 'x');
const WARMUP_MS = Number(env('RB_PUB_WARMUP_MS', '3000'));
const DURATION_MS = Number(env('RB_PUB_DURATION_MS', '10000'));
const WINDOW = Number(env('RB_PUB_WINDOW', '100'));
const INFLUX = process.env.RB_PUB_INFLUX; // e.g. http://127.0.0.1:8086/rb_bench
const SAMPLE_EVERY = Number(env('RB_PUB_SAMPLE_EVERY', '500'));
const POLL_MS = 20;

const nextId = monotonicFactory();
let seq = 0;

/** ~200 bytes of JSON: an access.granted from a Hikvision reader. */
function event(i: number): RbEvent {
  const ts = Date.now();
  return {
    v: 1, id: nextId(ts), seq: ++seq, ts, estate: ESTATE, gateway: GATEWAY, device: `gate-${i % 4}`,
    type: 'access.granted', data: { door: 1, reader: 1, method: 'card', credential: '3f7a9c1e5b2d4f60' },
  } as RbEvent;
}

/** RFC 3339 with nanoseconds, as InfluxDB takes a time bound in a bound parameter. */
function rfc3339Nano(ns: bigint): string {
  const ms = new Date(Number(ns / 1_000_000n)).toISOString(); // ...T12:34:56.789Z
  return `${ms.slice(0, 19)}.${String(ns % 1_000_000_000n).padStart(9, '0')}Z`;
}

/** Poll InfluxDB (bound parameters only) until the point is there. */
async function storedDelay(e: RbEvent, t0: number, deadline: number): Promise<number | undefined> {
  const u = new URL(INFLUX!);
  const ns = BigInt(e.ts) * 1_000_000n + BigInt(e.seq % 1_000_000);
  const q = 'SELECT count("id") FROM "raw"."events" WHERE "gateway" = $g AND "id" = $id AND time >= $t AND time <= $t';
  const url = new URL('/query', u.origin);
  url.searchParams.set('db', u.pathname.slice(1));
  url.searchParams.set('q', q);
  url.searchParams.set('params', JSON.stringify({ g: e.gateway, id: e.id, t: rfc3339Nano(ns) }));
  while (Date.now() < deadline) {
    const res = await fetch(url);
    const body = (await res.json()) as { results?: Array<{ series?: Array<{ values?: unknown[][] }> }> };
    if (Number(body.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0) > 0) return performance.now() - t0;
    await sleep(POLL_MS);
  }
  return undefined;
}

async function main(): Promise<void> {
  const client = await mqtt.connectAsync(URL_, { clientId: clientIdFor(ESTATE, GATEWAY), username: USERNAME, password: PASSWORD, clean: true, reconnectPeriod: 0, keepalive: 30 });
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const measureTo = measureFrom + DURATION_MS;
  const fromMs = Date.now() + WARMUP_MS; // the same window in epoch ms (= event ts), for counting in InfluxDB
  let sent = 0;
  let acked = 0;
  let inflight = 0;
  let i = 0;
  let failed: Error | undefined;
  const acks: number[] = [];
  const stored: Array<Promise<number | undefined>> = [];
  let wake: (() => void) | undefined;

  while (performance.now() < measureTo && !failed) {
    if (inflight >= WINDOW) {
      await new Promise<void>((r) => (wake = r));
      continue;
    }
    const e = event(i++);
    const t0 = performance.now();
    const measured = t0 >= measureFrom;
    if (measured) {
      sent++;
      if (INFLUX && sent % SAMPLE_EVERY === 0) stored.push(storedDelay(e, t0, Date.now() + 30_000));
    }
    inflight++;
    client.publish(topics.event(ESTATE, GATEWAY, e.device), JSON.stringify(e), { qos: 1 }, (err) => {
      inflight--;
      if (err) failed = err;
      else if (measured) {
        acked++;
        acks.push(performance.now() - t0);
      }
      wake?.();
      wake = undefined;
    });
    // Yield now and then so PUBACKs are read while the window is open.
    if (i % 64 === 0) await new Promise((r) => setImmediate(r));
  }
  const drainUntil = Date.now() + 20_000;
  while (inflight > 0 && Date.now() < drainUntil) await sleep(5);
  const delays = (await Promise.all(stored)).filter((d): d is number => d !== undefined);
  await client.endAsync();
  if (failed) throw failed;
  process.stdout.write(`${JSON.stringify({
    from_ms: fromMs, to_ms: fromMs + DURATION_MS, sent, acked, p50_ack_ms: percentile(acks, 50), p99_ack_ms: percentile(acks, 99),
    samples: stored.length, samples_seen: delays.length, p50_stored_ms: percentile(delays, 50), p99_stored_ms: percentile(delays, 99),
  })}\n`);
}

await main();
