/**
 * Hub benchmark (issue 4): N gateway processes publishing QoS 1 ~200-byte events → hub → InfluxDB,
 * beside the same N publishers → bare Mosquitto → one Node mqtt.js QoS 1 subscriber in the same run
 * (the baseline: a broker that does no work per message). Reports events/s stored, the ratio to the
 * baseline, ingest latency (publish → PUBACK; the hub acks once the store has the event) and stored
 * latency (publish → visible in InfluxDB, on a sample), hub RSS, and the hub's RSS with 10,000 idle
 * authenticated gateway connections. Also CPU µs per event of the hub, influxd and Mosquitto over the
 * measured window (stable on a busy machine, where events/s is not) and the hub's own ingest times
 * from its /metrics. And the baseline a user would assemble by hand, the Telegraf way: the same
 * publishers → bare Mosquitto → a Node QoS 1 subscriber (bench/telegraf-way.ts) → batched line
 * protocol into the same influxd, neither durable nor deduplicated nor validated; the hub, doing
 * strictly more, is set against it as ratio_vs_mosquitto_influx.
 *
 *   npm run bench:hub     (RB_BENCH_PUBLISHERS, RB_BENCH_DURATION_S, RB_BENCH_WARMUP_S, RB_BENCH_WINDOW,
 *                          RB_BENCH_CONNECTIONS to resize; RB_BENCH_ONLY=hub|mosquitto|telegraf|idle for one part;
 *                          RB_BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the hub)
 */
import { spawn } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { resolveHubConfig } from '../hub/config.js';
import pino from 'pino';
import { openDatabase } from '../hub/platform/db/index.js';
import { clientIdFor, topics } from '../protocol/index.js';
import { startInfluxd, type Influxd } from '../test/support/influxd.js';
import { startMosquitto } from '../test/support/mosquitto.js';
import { freePort } from '../test/support/ports.js';
import { childPid, cpuMeter, percentile, procRss, sleep, startCliProcess, stopChild, table, waitForPort } from './lib.js';

const PUBLISHERS = Number(process.env.RB_BENCH_PUBLISHERS ?? 4);
const DURATION_S = Number(process.env.RB_BENCH_DURATION_S ?? 10);
const WARMUP_S = Number(process.env.RB_BENCH_WARMUP_S ?? 3);
const WINDOW = Number(process.env.RB_BENCH_WINDOW ?? 100);
const CONNECTIONS = Number(process.env.RB_BENCH_CONNECTIONS ?? 10_000);
const SAMPLE_EVERY = 500;
const ESTATE = 'bench-estate';
const TOKEN = randomBytes(24).toString('base64url');
const PUBLISHER = fileURLToPath(new URL('./publisher.ts', import.meta.url));
const TELEGRAF_WAY = fileURLToPath(new URL('./telegraf-way.ts', import.meta.url));
const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);

interface PubReport { from_ms: number; to_ms: number; sent: number; acked: number; p50_ack_ms: number; p99_ack_ms: number; samples: number; samples_seen: number; p50_stored_ms: number; p99_stored_ms: number }
interface Creds { gateway: string; username: string; password: string }

/** Hub limits opened up for a benchmark: no per-gateway publish rate, no per-IP connect rate. */
const HUB_ENV = {
  RB_API_TOKEN: TOKEN,
  RB_MQTT_PUBLISH_RATE: '1000000', RB_MQTT_PUBLISH_BURST: '1000000',
  RB_MQTT_CONNECT_RATE_PER_IP: '1000000', RB_MQTT_CONNECT_BURST_PER_IP: '1000000',
  RB_MQTT_MAX_CONNECTIONS: String(Math.max(20_000, CONNECTIONS + 1000)),
};
/** Extra node flags for the hub process only, e.g. RB_BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const HUB_NODE_ARGS = (process.env.RB_BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);

async function startHub(dataDir: string, influxUrl: string): Promise<{ proc: ReturnType<typeof startCliProcess>; http: string; mqtt: string }> {
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const proc = startCliProcess(['hub', '--data-dir', dataDir, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--influx-url', influxUrl, '--log-level', 'warn'], HUB_ENV, HUB_NODE_ARGS);
  const alive = (): boolean => proc.exitCode === null;
  await waitForPort(httpPort, 30_000, alive);
  await waitForPort(mqttPort, 30_000, alive);
  return { proc, http: `http://127.0.0.1:${httpPort}`, mqtt: `mqtt://127.0.0.1:${mqttPort}` };
}

/** Provision through the admin REST API (the path an operator's tooling takes). */
async function provision(http: string, gateway: string): Promise<Creds> {
  const res = await fetch(`${http}/api/v1/admin/gateways`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ estate: ESTATE, gateway }),
  });
  if (res.status !== 201) throw new Error(`provisioning ${gateway}: HTTP ${res.status} ${await res.text()}`);
  return { gateway, ...((await res.json()) as { username: string; password: string }) };
}

/** N publisher processes at once; resolves with their JSON reports. */
function runPublishers(url: string, creds: Creds[], influx?: string): Promise<PubReport[]> {
  return Promise.all(creds.map((c) => new Promise<PubReport>((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', PUBLISHER], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env, RB_PUB_URL: url, RB_PUB_ESTATE: ESTATE, RB_PUB_GATEWAY: c.gateway, RB_PUB_USERNAME: c.username, RB_PUB_PASSWORD: c.password,
        RB_PUB_WARMUP_MS: String(WARMUP_S * 1000), RB_PUB_DURATION_MS: String(DURATION_S * 1000), RB_PUB_WINDOW: String(WINDOW),
        RB_PUB_SAMPLE_EVERY: String(SAMPLE_EVERY), ...(influx ? { RB_PUB_INFLUX: influx } : {}),
      },
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // 'close', not 'exit': stdout may still hold the report when the process has exited.
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as PubReport) : reject(new Error(`publisher ${c.gateway} exited ${code}`))));
  })));
}

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
async function storedCount(influx: Influxd, db: string, creds: Creds[], reports: PubReport[]): Promise<number> {
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
 * When storing ends. Both pipelines ack before InfluxDB has the event (the hub at its local journal,
 * Mosquitto at once), so publishing ends before storing does. From `startInMs` on (shortly before
 * the measured windows end), every 200 ms, counts the events of `db` from 3 s before that (cheap:
 * the last seconds only; both write in arrival order, so the newest are stored last); done() gives
 * the time the count last grew, i.e. when the last event was stored. Same method on both sides.
 */
function watchStored(influx: Influxd, db: string, startInMs: number): { done(): Promise<number> } {
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

/** Seconds from the end of the measured windows to the last event stored. */
const drainS = (reports: PubReport[], lastStoredAt: number): number => Math.max(0, (lastStoredAt - Math.max(...reports.map((r) => r.to_ms))) / 1000);

/**
 * Mean times the hub measures itself (/metrics, whole run): PUBLISH → verdict inside the hub, and
 * each ingest stage. Set against the publishers' ack latency, they say whether the wait is in the
 * hub's ingest or before it (sockets, the broker's parser, a busy CPU).
 */
async function hubIngestTimes(http: string): Promise<Record<string, number>> {
  const res = await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  const mean = (name: string, labels = ''): number => {
    const get = (part: string): number => Number(new RegExp(`^${name}_${part}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return (get('sum') / get('count')) * 1000;
  };
  const out: Record<string, number> = { hub_mean_ack_ms: mean('rb_ingest_ack_seconds') };
  for (const stage of ['validate', 'queue', 'store', 'dedup']) out[`hub_mean_${stage}_ms`] = mean('rb_ingest_stage_seconds', `stage="${stage}"`);
  const batch = /^rb_ingest_batch_events_sum (\S+)$/m.exec(text)?.[1];
  const batches = /^rb_ingest_batch_events_count (\S+)$/m.exec(text)?.[1];
  out.hub_mean_batch_events = Number(batch) / Number(batches);
  return out;
}

const sum = (rs: PubReport[], k: keyof PubReport): number => rs.reduce((a, r) => a + r[k], 0);
const worst = (rs: PubReport[], k: keyof PubReport): number => Math.max(...rs.map((r) => r[k]));
const mid = (rs: PubReport[], k: keyof PubReport): number => [...rs.map((r) => r[k])].sort((a, b) => a - b)[Math.floor(rs.length / 2)]!;

/** Hub: N publishers → hub → InfluxDB. */
async function hubRun(influx: Influxd, dir: string): Promise<Record<string, number>> {
  const db = 'rb_bench';
  const hub = await startHub(join(dir, 'hub'), `${influx.url}/${db}`);
  try {
    const creds = await Promise.all(Array.from({ length: PUBLISHERS }, (_, i) => provision(hub.http, `gw-${i + 1}`)));
    log(`hub: ${PUBLISHERS} publishers, window ${WINDOW}, ${WARMUP_S} s warm-up + ${DURATION_S} s…`);
    let peakDuring = 0;
    const timer = setInterval(() => (peakDuring = Math.max(peakDuring, procRss(hub.proc.pid!).rssMb)), 250);
    // CPU of the hub and of influxd over the measured window (publishers take ~1 s to start).
    const cpu = cpuMeter([hub.proc.pid, childPid('influxd')]);
    const cpuStart = setTimeout(() => cpu.start(), WARMUP_S * 1000 + 1000);
    const watch = watchStored(influx, db, (WARMUP_S + DURATION_S - 1) * 1000);
    const reports = await runPublishers(hub.mqtt, creds, `${influx.url}/${db}`);
    const [hubCores, influxCores] = cpu.stop();
    clearTimeout(cpuStart);
    clearInterval(timer);
    const lastStoredAt = await watch.done();
    const stored = await storedCount(influx, db, creds, reports);
    const rss = procRss(hub.proc.pid!);
    const inside = await hubIngestTimes(hub.http);
    return {
      sent: sum(reports, 'sent'), acked: sum(reports, 'acked'), stored, events_per_s: stored / DURATION_S, drain_s: drainS(reports, lastStoredAt),
      // Per publisher percentiles: the median publisher's p50, the worst publisher's p99.
      p50_ingest_ms: mid(reports, 'p50_ack_ms'), p99_ingest_ms: worst(reports, 'p99_ack_ms'),
      stored_samples: sum(reports, 'samples_seen'), stored_samples_taken: sum(reports, 'samples'),
      p50_stored_ms: mid(reports, 'p50_stored_ms'), p99_stored_ms: worst(reports, 'p99_stored_ms'),
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

/** Baseline: the same N publishers → bare Mosquitto → one mqtt.js QoS 1 subscriber. */
async function mosquittoRun(): Promise<Record<string, number>> {
  const mosquitto = await startMosquitto();
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosquitto.port}`, { clientId: 'bench-subscriber', clean: true, reconnectPeriod: 0 });
  try {
    await sub.subscribeAsync('rb/v1/#', { qos: 1 });
    const ts = new Map<string, number[]>();
    sub.on('message', (_topic, payload) => {
      const e = JSON.parse(payload.toString()) as { gateway: string; ts: number };
      let xs = ts.get(e.gateway);
      if (!xs) ts.set(e.gateway, (xs = []));
      xs.push(e.ts);
    });
    const creds = Array.from({ length: PUBLISHERS }, (_, i) => ({ gateway: `gw-${i + 1}`, username: 'x', password: 'x' }));
    log(`mosquitto: ${PUBLISHERS} publishers → 1 subscriber, ${WARMUP_S} s warm-up + ${DURATION_S} s…`);
    const cpu = cpuMeter([mosquitto.pid]);
    const cpuStart = setTimeout(() => cpu.start(), WARMUP_S * 1000 + 1000);
    const reports = await runPublishers(`mqtt://127.0.0.1:${mosquitto.port}`, creds);
    const [mosquittoCores] = cpu.stop();
    clearTimeout(cpuStart);
    // Let the subscriber drain what the broker still queues for it.
    let last = -1;
    for (let n = 0; n !== last; await sleep(500)) [last, n] = [n, [...ts.values()].reduce((a, xs) => a + xs.length, 0)];
    const delivered = creds.reduce((a, c, k) => a + (ts.get(c.gateway) ?? []).filter((t) => t >= reports[k]!.from_ms && t < reports[k]!.to_ms).length, 0);
    return {
      sent: sum(reports, 'sent'), delivered, events_per_s: delivered / DURATION_S, p50_ack_ms: mid(reports, 'p50_ack_ms'), p99_ack_ms: worst(reports, 'p99_ack_ms'),
      mosquitto_cpu_cores: mosquittoCores!, mosquitto_cpu_us_per_event: (mosquittoCores! * 1e6) / (delivered / DURATION_S),
    };
  } finally {
    await sub.endAsync();
    await mosquitto.stop();
  }
}

/**
 * The Telegraf way: the same N publishers → bare Mosquitto → one Node QoS 1 subscriber process that
 * writes batched line protocol into the same influxd (bench/telegraf-way.ts), batches of the hub's
 * influxBatchSize. Stored events/s = the rate InfluxDB acknowledged the subscriber's writes at, from
 * the start of the measured windows to its last write; CPU of Mosquitto + the subscriber (and influxd,
 * apart) until the last event was stored, per event published inside the CPU window.
 */
async function telegrafRun(influx: Influxd): Promise<Record<string, number>> {
  const db = 'rb_telegraf_way';
  const hubDefaults = resolveHubConfig({ dataDir: '.' }, {});
  const mosquitto = await startMosquitto();
  const sub = spawn(process.execPath, ['--import', 'tsx', TELEGRAF_WAY], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RB_TW_MQTT: `mqtt://127.0.0.1:${mosquitto.port}`, RB_TW_INFLUX: `${influx.url}/${db}`, RB_TW_BATCH: String(hubDefaults.influx.batchSize), RB_TW_FLUSH_MS: String(hubDefaults.influx.flushMs) },
  });
  let out = '';
  sub.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<number | null>((r) => sub.on('close', r));
  try {
    const deadline = Date.now() + 30_000;
    while (!out.startsWith('ready\n')) {
      if (sub.exitCode !== null || Date.now() > deadline) throw new Error(`the Telegraf-way subscriber did not start (exit ${sub.exitCode})`);
      await sleep(50);
    }
    const creds = Array.from({ length: PUBLISHERS }, (_, i) => ({ gateway: `gw-${i + 1}`, username: 'x', password: 'x' }));
    log(`telegraf way: ${PUBLISHERS} publishers → mosquitto → subscriber → InfluxDB (batches of ${hubDefaults.influx.batchSize}), ${WARMUP_S} s warm-up + ${DURATION_S} s…`);
    const cpu = cpuMeter([mosquitto.pid, sub.pid, childPid('influxd')]);
    let cpuFrom = 0;
    const cpuStart = setTimeout(() => {
      cpu.start();
      cpuFrom = Date.now();
    }, WARMUP_S * 1000 + 1000);
    const watch = watchStored(influx, db, (WARMUP_S + DURATION_S - 1) * 1000);
    // No stored-latency polling by the publishers here: the subscriber times each write itself. (The
    // publishers' polling, 50 queries/s per pending sample, grows with the delay it measures and
    // slowed this pipeline's influxd down further; the hub run polls, so its influxd does more.)
    const reports = await runPublishers(`mqtt://127.0.0.1:${mosquitto.port}`, creds);
    clearTimeout(cpuStart);
    // Mosquitto acks at once: the subscriber may still be writing what the broker queued for it, so
    // the CPU window runs on until the last event is stored (2 s idle after it cost ~nothing).
    const lastStoredAt = await watch.done();
    const cpuTo = Date.now();
    const cpuSeconds = cpu.stop().map((cores) => (cores * (cpuTo - cpuFrom)) / 1000);
    const stored = await storedCount(influx, db, creds, reports);
    sub.kill('SIGTERM');
    if ((await closed) !== 0) throw new Error('the Telegraf-way subscriber failed');
    const s = JSON.parse(out.split('\n').filter(Boolean).pop()!) as {
      received: number; written: number; write_errors: number; parse_errors: number; requests: number; last_write_at: number;
      stored: Array<[number, number]>; writes: Array<[number, number]>;
    };
    // The rate it stored at: points InfluxDB acknowledged from the start of the measured windows to
    // the last write (so a subscriber that falls behind the broker is not credited with the broker's
    // rate, nor debited for the warm-up backlog it works off inside the window).
    const from = Math.min(...reports.map((r) => r.from_ms));
    const writtenBy = (t: number): number => s.writes.filter(([at]) => at <= t).reduce((_, [, n]) => n, 0);
    const storedPerS = (writtenBy(s.last_write_at) - writtenBy(from)) / ((s.last_write_at - from) / 1000);
    // Events published inside the CPU window (it opens ~1 s into the measured windows): CPU per event.
    const windowEnd = Math.max(...reports.map((r) => r.to_ms));
    const eventsInCpuWindow = stored * Math.min(1, (windowEnd - cpuFrom) / (DURATION_S * 1000));
    const [mosquittoS, subS, influxS] = cpuSeconds as [number, number, number];
    const usPerEvent = (cpuS: number): number => (cpuS * 1e6) / eventsInCpuWindow;
    const cores = (cpuS: number): number => cpuS / ((lastStoredAt - cpuFrom) / 1000);
    // Publish → write acknowledged by InfluxDB, for the events of the measured windows.
    const delays = s.stored.filter(([ts]) => ts >= from && ts < windowEnd).map(([, ms]) => ms);
    return {
      sent: sum(reports, 'sent'), stored, events_per_s: storedPerS, events_per_s_published: stored / DURATION_S, drain_s: drainS(reports, lastStoredAt), subscriber_last_write_at: s.last_write_at,
      p50_ack_ms: mid(reports, 'p50_ack_ms'), p99_ack_ms: worst(reports, 'p99_ack_ms'),
      stored_samples: delays.length, p50_stored_ms: percentile(delays, 50), p99_stored_ms: percentile(delays, 99),
      batch_size: hubDefaults.influx.batchSize,
      subscriber_received: s.received, subscriber_written: s.written, subscriber_write_errors: s.write_errors, subscriber_requests: s.requests,
      mosquitto_cpu_cores: cores(mosquittoS), subscriber_cpu_cores: cores(subS), influxd_cpu_cores: cores(influxS),
      mosquitto_cpu_us_per_event: usPerEvent(mosquittoS),
      subscriber_cpu_us_per_event: usPerEvent(subS),
      // Mosquitto + subscriber: what the pipeline costs beside influxd (the hub's figure is the hub alone).
      cpu_us_per_event: usPerEvent(mosquittoS + subS),
      influxd_cpu_us_per_event: usPerEvent(influxS),
    };
  } finally {
    if (sub.exitCode === null && sub.signalCode === null) {
      sub.kill('SIGKILL');
      await closed;
    }
    await mosquitto.stop();
  }
}

// --- idle connections --------------------------------------------------------------------------

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
const str = (s: string): Buffer => Buffer.concat([Buffer.from([s.length >> 8, s.length & 0xff]), Buffer.from(s)]);
const packet = (type: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([type]), varint(body.length), body]);

/**
 * One idle gateway over a raw socket (an mqtt.js client costs ~100 KiB in the bench process; 10k of
 * them would measure the bench, not the hub): MQTT 3.1.1 CONNECT with credentials and its client id,
 * then SUBSCRIBE to its command topic as the real gateway uplink does; resolves at SUBACK.
 */
function idleGateway(port: number, estate: string, gateway: string, password: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let state: 'connack' | 'suback' = 'connack';
    s.once('error', reject);
    s.once('close', () => reject(new Error(`${gateway}: connection closed (${state})`)));
    s.on('connect', () => {
      const vh = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 120])]); // v3.1.1, user+pass+clean, keepalive 120 s
      s.write(packet(0x10, Buffer.concat([vh, str(clientIdFor(estate, gateway)), str(`${estate}.${gateway}`), str(password)])));
    });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (state === 'connack' && buf.length >= 4) {
        if (buf[0] !== 0x20 || buf[3] !== 0) return reject(new Error(`${gateway}: CONNACK ${buf.subarray(0, 4).toString('hex')}`));
        buf = buf.subarray(4);
        state = 'suback';
        s.write(packet(0x82, Buffer.concat([Buffer.from([0, 1]), str(topics.gatewayCommands(estate, gateway)), Buffer.from([1])])));
      }
      if (state === 'suback' && buf.length >= 5) {
        if (buf[0] !== 0x90) return reject(new Error(`${gateway}: expected SUBACK, got ${buf.subarray(0, 5).toString('hex')}`));
        s.removeAllListeners('close');
        s.removeAllListeners('data');
        resolve(s);
      }
    });
  });
}

/**
 * 10k idle gateways on a fresh hub. Provisioning writes the registry directly with a scrypt hash of
 * N=16 (the hub reads N, r, p from the stored hash): with the production N=2^15 every login costs
 * ~50-100 ms of CPU and 10k logins take 10+ minutes; the cost per held connection is the same.
 */
async function idleRun(influx: Influxd, dir: string): Promise<Record<string, number>> {
  const dataDir = join(dir, 'hub-idle');
  const ids = Array.from({ length: CONNECTIONS }, (_, i) => ({ estate: `idle-${Math.floor(i / 500)}`, gateway: `gw-${i}`, password: randomBytes(24).toString('base64url') }));
  // The hub database the hub will open (created and migrated here), its registry tables written directly.
  const hubDb = await openDatabase({ file: join(dataDir, 'hub.db'), log: pino({ level: 'warn' }) });
  await hubDb.transaction(async (trx) => {
    const estates = [...new Set(ids.map((g) => g.estate))].map((id) => ({ id, street: null, grid: null, name: null }));
    await trx.insertInto('estates').values(estates).execute();
    const rows = ids.map((g) => {
      const salt = randomBytes(16);
      const key = scryptSync(g.password, salt, 32, { N: 16, r: 8, p: 1 });
      const secret_hash = `scrypt$16$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
      return { estate: g.estate, gateway: g.gateway, username: `${g.estate}.${g.gateway}`, secret_hash, created_at: Date.now(), rotated_at: null, revoked_at: null };
    });
    for (let i = 0; i < rows.length; i += 500) await trx.insertInto('gateways').values(rows.slice(i, i + 500)).execute();
  });
  await hubDb.close();
  const hub = await startHub(dataDir, `${influx.url}/rb_idle`);
  const sockets: Socket[] = [];
  try {
    await sleep(2000);
    const before = procRss(hub.proc.pid!).rssMb;
    log(`idle: ${CONNECTIONS} authenticated gateway connections…`);
    const start = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 100 }, async () => {
      while (next < ids.length) {
        const g = ids[next++]!;
        sockets.push(await idleGateway(Number(new URL(hub.mqtt).port), g.estate, g.gateway, g.password));
      }
    }));
    const connectS = (performance.now() - start) / 1000;
    await sleep(5000); // idle: let the hub settle
    const after = procRss(hub.proc.pid!).rssMb;
    const perConn = (after - before) / CONNECTIONS;
    return { connections: CONNECTIONS, connect_s: connectS, rss_mb_before: before, rss_mb_after: after, kib_per_connection: perConn * 1024, rss_mb_10k: before + perConn * 10_000 };
  } finally {
    for (const s of sockets) s.destroy();
    await stopChild(hub.proc);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-bench-hub-'));
  const influx = await startInfluxd();
  try {
    const only = process.env.RB_BENCH_ONLY; // 'hub', 'mosquitto' or 'idle', to profile one part
    const h = !only || only === 'hub' ? await hubRun(influx, dir) : undefined;
    const m = !only || only === 'mosquitto' ? await mosquittoRun() : undefined;
    const tw = !only || only === 'telegraf' ? await telegrafRun(influx) : undefined;
    const idle = !only || only === 'idle' ? await idleRun(influx, dir) : undefined;
    const ratio = h && m ? h.events_per_s! / m.events_per_s! : NaN;
    // Stored events/s: the hub's (stored ÷ window; it acks at its journal and lags InfluxDB by its
    // drain_s only) ÷ the Telegraf way's (the rate its subscriber got writes acknowledged at).
    const ratioTw = h && tw ? h.events_per_s! / tw.events_per_s! : NaN;

    if (h || m || tw) console.log(`\nHub benchmark — ${PUBLISHERS} publisher processes, QoS 1, window ${WINDOW} each, ${WARMUP_S} s warm-up + ${DURATION_S} s measured; ${new Date().toISOString()}`);
    const rows = [];
    if (h) rows.push({ path: 'hub → InfluxDB (stored)', 'sent': h.sent!, 'events': h.stored!, 'events/s': Math.round(h.events_per_s!), 'vs mosquitto': m ? +ratio.toFixed(2) : '-', 'ack p50 ms': h.p50_ingest_ms!, 'ack p99 ms': h.p99_ingest_ms!, 'stored p50 ms': h.p50_stored_ms!, 'stored p99 ms': h.p99_stored_ms! });
    if (m) rows.push({ path: 'bare mosquitto → 1 subscriber', 'sent': m.sent!, 'events': m.delivered!, 'events/s': Math.round(m.events_per_s!), 'vs mosquitto': 1, 'ack p50 ms': m.p50_ack_ms!, 'ack p99 ms': m.p99_ack_ms!, 'stored p50 ms': '-', 'stored p99 ms': '-' });
    if (tw) rows.push({ path: 'mosquitto → subscriber → InfluxDB (Telegraf way, stored)', 'sent': tw.sent!, 'events': tw.stored!, 'events/s': Math.round(tw.events_per_s!), 'vs mosquitto': m ? +(tw.events_per_s! / m.events_per_s!).toFixed(2) : '-', 'ack p50 ms': tw.p50_ack_ms!, 'ack p99 ms': tw.p99_ack_ms!, 'stored p50 ms': tw.p50_stored_ms!, 'stored p99 ms': tw.p99_stored_ms! });
    if (rows.length) console.log(table(rows));
    if (tw) {
      console.log(`\nTelegraf way (bench/telegraf-way.ts): Mosquitto acks at once, one Node QoS 1 subscriber writes line protocol in batches of ${tw.batch_size} to the same influxd; not durable, not deduplicated, not validated. ${tw.subscriber_received} received, ${tw.subscriber_written} written in ${tw.subscriber_requests} requests, ${tw.subscriber_write_errors} refused; its stored latency is publish → write acknowledged by InfluxDB, timed by the subscriber (${tw.stored_samples} samples). CPU (until the last event was stored): mosquitto ${tw.mosquitto_cpu_cores!.toFixed(2)} + subscriber ${tw.subscriber_cpu_cores!.toFixed(2)} cores = ${tw.cpu_us_per_event!.toFixed(1)} µs/event (influxd ${tw.influxd_cpu_us_per_event!.toFixed(1)} µs/event).${h ? ` Hub ÷ Telegraf way, stored events/s: ${ratioTw.toFixed(2)} (target >= 1.0). Storing ended ${h.drain_s!.toFixed(1)} s (hub) and ${tw.drain_s!.toFixed(1)} s (Telegraf way) after publishing did.` : ` Storing ended ${tw.drain_s!.toFixed(1)} s after publishing did.`}`);
    }
    if (h) {
      console.log(`\nack = publish → PUBACK (ingest: the hub acks once the event is durable: in the InfluxDB store's local journal, or its spool); stored = publish → visible in InfluxDB, polled every 20 ms for every ${SAMPLE_EVERY}th event (${h.stored_samples}/${h.stored_samples_taken} seen). p50 = median publisher, p99 = worst publisher.`);
      console.log(`Inside the hub (its /metrics, means): PUBLISH → verdict ${h.hub_mean_ack_ms!.toFixed(2)} ms; validate ${h.hub_mean_validate_ms!.toFixed(3)} ms/message; per batch of ${h.hub_mean_batch_events!.toFixed(1)} events: queue ${h.hub_mean_queue_ms!.toFixed(2)} ms, store ${h.hub_mean_store_ms!.toFixed(2)} ms, dedup ${h.hub_mean_dedup_ms!.toFixed(2)} ms.`);
      console.log(`Hub RSS under load: ${h.rss_mb!.toFixed(0)} MiB (peak ${h.rss_mb_peak!.toFixed(0)} MiB). CPU over the measured window: hub ${h.hub_cpu_cores!.toFixed(2)} cores = ${h.hub_cpu_us_per_event!.toFixed(1)} µs/event, influxd ${h.influxd_cpu_cores!.toFixed(2)} cores = ${h.influxd_cpu_us_per_event!.toFixed(1)} µs/event${m ? `; mosquitto ${m.mosquitto_cpu_cores!.toFixed(2)} cores = ${m.mosquitto_cpu_us_per_event!.toFixed(1)} µs/event` : ''}.`);
    }
    if (idle) {
      const measured = CONNECTIONS >= 10_000;
      console.log(`\n${table([{ 'idle gateways': CONNECTIONS, 'connect s': idle.connect_s!, 'hub RSS before MiB': idle.rss_mb_before!, 'after MiB': idle.rss_mb_after!, 'KiB/conn': idle.kib_per_connection!, [`10k ${measured ? '(measured)' : '(extrapolated)'} MiB`]: idle.rss_mb_10k! }])}`);
      console.log('Idle gateways: authenticated (CONNECT with credentials, own client id) and subscribed to their command topic; registry hashes use scrypt N=16 so 10k logins take seconds, not 10+ minutes.');
    }
    console.log('Targets: stored/s >= 0.7x bare mosquitto and >= 1.0x the Telegraf way; 10k idle connections <= 1 GiB hub RSS.');

    const out = {
      bench: 'hub', when: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, mem_gb: +(totalmem() / 2 ** 30).toFixed(1), node: process.version },
      publishers: PUBLISHERS, window: WINDOW, warmup_s: WARMUP_S, duration_s: DURATION_S,
      ratio_vs_mosquitto: Number.isNaN(ratio) ? null : +ratio.toFixed(3),
      ratio_vs_mosquitto_influx: Number.isNaN(ratioTw) ? null : +ratioTw.toFixed(3),
      events_per_s: h ? Math.round(h.events_per_s!) : null,
      mosquitto_events_per_s: m ? Math.round(m.events_per_s!) : null,
      mosquitto_influx_events_per_s: tw ? Math.round(tw.events_per_s!) : null,
      p50_ingest_ms: h ? +h.p50_ingest_ms!.toFixed(2) : null, p99_ingest_ms: h ? +h.p99_ingest_ms!.toFixed(2) : null,
      p50_stored_ms: h ? +h.p50_stored_ms!.toFixed(1) : null, p99_stored_ms: h ? +h.p99_stored_ms!.toFixed(1) : null,
      rss_mb_hub_load: h ? Math.round(h.rss_mb!) : null,
      hub_cpu_us_per_event: h ? +h.hub_cpu_us_per_event!.toFixed(1) : null,
      mosquitto_influx_cpu_us_per_event: tw ? +tw.cpu_us_per_event!.toFixed(1) : null,
      rss_mb_10k_connections: idle ? Math.round(idle.rss_mb_10k!) : null,
      rss_10k_connections_method: idle ? (CONNECTIONS >= 10_000 ? `measured with ${CONNECTIONS} connections` : `extrapolated linearly from ${CONNECTIONS} connections`) : null,
      hub: h ?? null, mosquitto: m ?? null, mosquitto_influx: tw ?? null, idle: idle ?? null,
    };
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    // A partial run (RB_BENCH_ONLY) goes to its own file, so latest.json always holds a whole run.
    const name = process.env.RB_BENCH_ONLY ? `latest-${process.env.RB_BENCH_ONLY}.json` : 'latest.json';
    writeFileSync(new URL(`./results/${name}`, import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
