import { clientIdFor } from '../protocol/index.js';
/**
 * Gateway benchmark (issue 3): events/s through the durable outbox to a broker, beside raw mqtt.js
 * QoS 1 publishing to the same broker in the same run; replay rate of a 100k-event backlog; RSS.
 * Two brokers: the Red Butler hub (a separate process: auth, ACL, validation, SQLite store, dedup)
 * and bare Mosquitto (no work per message, so it shows the gateway's own ceiling).
 *
 *   npm run bench:gateway            (RB_BENCH_EVENTS, RB_BENCH_BACKLOG to resize)
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { monotonicFactory } from 'ulid';
import { createSqliteOutbox } from '../gateway/outbox-sqlite.js';
import { createUplink } from '../gateway/uplink.js';
import { silentLogger } from '../lib/log.js';
import { topics, type RbEvent } from '../protocol/index.js';
import { startMosquitto } from '../test/support/mosquitto.js';
import { freePort } from '../test/support/ports.js';
import { procRss, runCli, sleep, startCliProcess, stopChild, table, waitForPort } from './lib.js';

const EVENTS = Number(process.env.RB_BENCH_EVENTS ?? 20_000);
const BACKLOG = Number(process.env.RB_BENCH_BACKLOG ?? 100_000);
const REPEAT = Number(process.env.RB_BENCH_REPEAT ?? 3);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ESTATE = 'bench-estate';
const GATEWAY = 'gw-1';
const nextId = monotonicFactory();
let seq = 0;

function event(i: number): RbEvent {
  const ts = Date.now();
  return {
    v: 1, id: nextId(ts), seq: ++seq, ts, estate: ESTATE, gateway: GATEWAY, device: `gate-${i % 4}`,
    type: i % 50 === 49 ? 'door.forced' : 'access.granted',
    data: i % 50 === 49 ? { door: 1 } : { door: 1, reader: 1, method: 'card', credential: '3f7a9c1e5b2d4f60a8c7e91b2d3f4a5c', source: { vendor: 'hikvision-isapi', major: 5, minor: 1, serial: i } },
  } as RbEvent;
}

interface Target { name: string; url: string; username: string; password: string }

/**
 * Raw mqtt.js: build each event and publish it at QoS 1 as fast as the client takes it, no outbox;
 * time to the last PUBACK. Building and serialising is inside the timed part on both paths, so the
 * ratio is what durability costs.
 */
async function raw(t: Target, n: number): Promise<number> {
  const client = await mqtt.connectAsync(t.url, { clientId: clientIdFor(ESTATE, GATEWAY), username: t.username, password: t.password, clean: true, reconnectPeriod: 0 });
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    let acked = 0;
    for (let i = 0; i < n; i++) {
      const e = event(i);
      client.publish(topics.event(e.estate, e.gateway, e.device), JSON.stringify(e), { qos: 1 }, (err) => {
        if (err) reject(err);
        else if (++acked === n) resolve();
      });
    }
  });
  const s = (performance.now() - start) / 1000;
  await client.endAsync();
  return n / s;
}

async function outboxPath(t: Target, n: number, dir: string): Promise<{ rate: number; replay?: number }> {
  const outbox = createSqliteOutbox({ file: join(dir, `outbox-${Date.now()}.db`), log: silentLogger() });
  await outbox.start();
  const uplink = createUplink({ estate: ESTATE, gateway: GATEWAY, url: t.url, username: t.username, password: t.password, keepaliveS: 30, outbox, log: silentLogger(), maxInflight: Number(process.env.RB_BENCH_INFLIGHT ?? 500) });
  await uplink.start();
  while (!uplink.connected()) await sleep(10);
  // 64 concurrent producers, each awaiting its append as a device push handler does.
  const start = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: Number(process.env.RB_BENCH_PRODUCERS ?? 64) }, async () => {
    while (next < n) { const e = event(next++); e.seq = outbox.nextSeq(); await outbox.append(e); uplink.kick(); }
  }));
  while (outbox.stats().depth > 0) await sleep(2);
  const rate = n / ((performance.now() - start) / 1000);
  await uplink.stop();
  await outbox.stop();
  return { rate };
}

async function replay(t: Target, n: number, dir: string): Promise<number> {
  const outbox = createSqliteOutbox({ file: join(dir, `replay-${Date.now()}.db`), log: silentLogger() });
  await outbox.start();
  for (let i = 0; i < n; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, n - i) }, (_, k) => { const e = event(i + k); e.seq = outbox.nextSeq(); return outbox.append(e); }));
  const uplink = createUplink({ estate: ESTATE, gateway: GATEWAY, url: t.url, username: t.username, password: t.password, keepaliveS: 30, outbox, log: silentLogger(), maxInflight: Number(process.env.RB_BENCH_INFLIGHT ?? 500) });
  const start = performance.now();
  await uplink.start();
  while (outbox.stats().depth > 0) await sleep(5);
  const rate = n / ((performance.now() - start) / 1000);
  await uplink.stop();
  await outbox.stop();
  return rate;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-bench-gw-'));
  const hubDir = join(dir, 'hub');
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const creds = JSON.parse(await runCli(['hub', 'gateway', 'add', '--data-dir', hubDir, '--estate', ESTATE, '--gateway', GATEWAY])) as { username: string; password: string };
  const hub = startCliProcess(['hub', '--data-dir', hubDir, '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--log-level', 'warn']);
  const mosquitto = await startMosquitto();
  try {
    await waitForPort(mqttPort);
    const targets: Target[] = [
      { name: 'hub (auth, validate, SQLite, dedup)', url: `mqtt://127.0.0.1:${mqttPort}`, ...creds },
      { name: 'bare mosquitto', url: `mqtt://127.0.0.1:${mosquitto.port}`, username: 'x', password: 'x' },
    ];
    const only = process.env.RB_BENCH_ONLY; // 'hub' or 'mosquitto', to profile one side
    if (only) targets.splice(0, targets.length, ...targets.filter((t) => (only === 'hub') === t.name.startsWith('hub')));
    const rows = [];
    const results: Record<string, unknown> = {};
    for (const t of targets) {
      process.stderr.write(`bench: ${t.name}: raw mqtt.js ${EVENTS} events…\n`);
      await raw(t, 2_000); // warm-up
      // Interleaved repetitions, median of each: this machine is noisy, and drift hits both sides alike.
      const raws: number[] = [];
      const outs: number[] = [];
      for (let r = 0; r < REPEAT; r++) {
        raws.push(await raw(t, EVENTS));
        process.stderr.write(`bench: ${t.name}: outbox path ${EVENTS} events (run ${r + 1}/${REPEAT})…\n`);
        outs.push((await outboxPath(t, EVENTS, dir)).rate);
      }
      const rawRate = median(raws);
      const rate = median(outs);
      process.stderr.write(`bench: ${t.name}: replay of a ${BACKLOG}-event backlog…\n`);
      const replayRate = await replay(t, BACKLOG, dir);
      const key = t.name.startsWith('hub') ? 'hub' : 'mosquitto';
      results[key] = { raw_events_per_s: Math.round(rawRate), outbox_events_per_s: Math.round(rate), ratio_outbox_vs_raw: +(rate / rawRate).toFixed(3), replay_events_per_s: Math.round(replayRate) };
      rows.push({ broker: t.name, 'raw mqtt.js ev/s': Math.round(rawRate), 'outbox ev/s': Math.round(rate), 'outbox/raw': +(rate / rawRate).toFixed(2), [`replay ${BACKLOG / 1000}k ev/s`]: Math.round(replayRate) });
    }
    const gw = procRss(process.pid);
    const hubRss = procRss(hub.pid!);
    console.log(`\nGateway benchmark — ${EVENTS} events per run, median of ${REPEAT} interleaved runs, ${BACKLOG}-event backlog; ${new Date().toISOString()}`);
    console.log(table(rows));
    console.log(`\nRSS: bench process (gateway side) ${gw.rssMb.toFixed(0)} MiB now, ${gw.peakMb.toFixed(0)} MiB peak; hub ${hubRss.peakMb.toFixed(0)} MiB peak`);
    console.log('Targets: outbox path >= 0.8x raw; replay >= 20k events/s.');
    const out = { bench: 'gateway', when: new Date().toISOString(), machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, events: EVENTS, repeat: REPEAT, backlog: BACKLOG, ...results, rss_mb_gateway_peak: Math.round(gw.peakMb), rss_mb_hub_peak: Math.round(hubRss.peakMb) };
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('./results/gateway-latest.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await stopChild(hub);
    await mosquitto.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
