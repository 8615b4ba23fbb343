/**
 * The hub benchmark's baselines without the hub (bench/hub.ts): bare Mosquitto → one subscriber,
 * and the Telegraf way (Mosquitto → a Node subscriber → batched line protocol into InfluxDB).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { resolveHubConfig } from '../hub/config.js';
import type { Influxd } from '../test/support/influxd.js';
import { startMosquitto } from '../test/support/mosquitto.js';
import { DURATION_S, PUBLISHERS, WARMUP_S, log, mid, runPublishers, sum, worst } from './hub-common.js';
import { drainS, storedCount, watchStored } from './hub-influx.js';
import { childPid, cpuMeter, percentile, sleep } from './lib.js';

const TELEGRAF_WAY = fileURLToPath(new URL('./telegraf-way.ts', import.meta.url));

/** Baseline: the same N publishers → bare Mosquitto → one mqtt.js QoS 1 subscriber. */
export async function mosquittoRun(): Promise<Record<string, number>> {
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
export async function telegrafRun(influx: Influxd): Promise<Record<string, number>> {
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

