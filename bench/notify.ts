/**
 * Notification benchmark (issue 17, "Performance"): a real hub process with the shipped channel
 * plugins, a real gammu-smsd on gammu's fake phone, a local push service (checks VAPID, decrypts) and
 * a local signed-webhook receiver (checks signatures), all on this machine.
 *   1. Latency (bench/notify-latency.ts): forced door published by a gateway's MQTT session → SMS
 *      file in gammu-smsd's outbox/ and in its sent/, and → push message decrypted at the push
 *      service; p50/p99 over RB_BENCH_SAMPLES forced doors, idle and with RB_BENCH_BG_RATE routine
 *      events/s (default 5,000) from another gateway (bench/background.ts).
 *   2. Storm (bench/notify-storm.ts): RB_BENCH_ESTATES estates (default 500), one forced door each
 *      within RB_BENCH_STORM_S seconds (default 10), each to one on-duty volunteer on the webhook;
 *      then the same all at once; beside them the same number of signed POSTs from this process at
 *      the dispatcher's concurrency. Targets: p99 ≤ 1 s end to end; the outbox never the bottleneck.
 *
 *   npm run bench:notify   (RB_BENCH_SAMPLES, RB_BENCH_BG_RATE, RB_BENCH_ESTATES, RB_BENCH_STORM_S;
 *                           RB_BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the hub)
 *
 * Prints one table and writes the `notify` key of bench/results/latest.json (other keys kept).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGammuSmsd } from '../test/support/gammu.js';
import { startPushService } from '../test/support/providers/push-service.js';
import { webhookFake } from '../test/support/providers/webhook.js';
import { percentile, sleep, stopChild, table } from './lib.js';
import { measureLatency, type LatencySamples } from './notify-latency.js';
import { api, gatewayClient, log, onDutyVolunteer, pool, provision, startBackground, startNotifyHub, type GatewayClient } from './notify-setup.js';
import { baselinePosts, DISPATCH_CONCURRENCY, recordArrivals, stormRound } from './notify-storm.js';

const SAMPLES = Number(process.env.RB_BENCH_SAMPLES ?? 50);
const BG_RATE = Number(process.env.RB_BENCH_BG_RATE ?? 5000);
const ESTATES = Number(process.env.RB_BENCH_ESTATES ?? 500);
const STORM_S = Number(process.env.RB_BENCH_STORM_S ?? 10);
const HOOK_SECRET = 'bench-notify-webhook-secret-0123456789';
const NIGHT = 'bench-night';
const r1 = (x: number): number => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const load = [loadavg()];
  const dir = mkdtempSync(join(tmpdir(), 'rb-bench-notify-'));
  const smsd = await startGammuSmsd();
  const push = await startPushService();
  const hook = await webhookFake({ secret: HOOK_SECRET }).start();
  const arrivals = recordArrivals(hook);
  const gws: GatewayClient[] = [];
  const hub = await startNotifyHub(dir, [
    { id: 'modem', type: 'gammu', smsdrc: smsd.smsdrc, pidFile: smsd.pidFile, pollMs: 100, perMinute: 100_000 },
    { id: 'push', type: 'webpush', subject: 'mailto:bench@example.org', perMinute: 100_000 },
    { id: 'hook', type: 'webhook', url: hook.url(), secret: HOOK_SECRET, perMinute: 1_000_000 },
  ]);
  try {
    // Part 1: one estate, one volunteer with a phone on the modem and a push subscription.
    const vol = await onDutyVolunteer(hub.http, NIGHT, 'night-volunteer', '13800138000', 'modem');
    const sub = push.subscribe();
    await api(hub.http, 'POST', '/api/v1/me/push-subscriptions', { endpoint: sub.endpoint, keys: sub.keys }, vol.token);
    const gw = await gatewayClient(hub.mqtt, await provision(hub.http, NIGHT, 'gw-1'));
    gws.push(gw);
    const ctx = { base: hub.http, gw, smsd, push };
    await measureLatency(ctx, 5, 'warmup');
    log(`latency, idle: ${SAMPLES} forced doors`);
    const idle = await measureLatency(ctx, SAMPLES, 'idle');
    const bg = await startBackground(hub.mqtt, await provision(hub.http, NIGHT, 'gw-bg'), BG_RATE);
    await sleep(2_000);
    log(`latency, with ${BG_RATE} ev/s background: ${SAMPLES} forced doors`);
    const loaded = await measureLatency(ctx, SAMPLES, 'loaded');
    await stopChild(bg.proc);
    const bgResult = await bg.result;

    // Part 2: the storm.
    log(`storm: setting up ${ESTATES} estates`);
    const estates = Array.from({ length: ESTATES }, (_, i) => `storm-${String(i).padStart(3, '0')}`);
    const creds = await pool(ESTATES, 8, async (i) => {
      await onDutyVolunteer(hub.http, estates[i]!, `storm-volunteer-${i}`, `139${String(i).padStart(8, '0')}`, 'hook');
      return provision(hub.http, estates[i]!, 'gw-1');
    });
    const storm = await pool(ESTATES, 20, (i) => gatewayClient(hub.mqtt, creds[i]!));
    gws.push(...storm);
    await sleep(1_000);
    log(`storm: ${ESTATES} forced doors over ${STORM_S} s`);
    const paced = await stormRound(storm, estates, 'door-storm', STORM_S * 1000, arrivals, hub.proc.pid!);
    await sleep(2_000);
    log(`burst: ${ESTATES} forced doors at once`);
    const burst = await stormRound(storm, estates, 'door-burst', 0, arrivals, hub.proc.pid!);
    log(`baseline: ${ESTATES} signed POSTs, ${DISPATCH_CONCURRENCY} in flight`);
    const base = await baselinePosts(hook, HOOK_SECRET, ESTATES);
    load.push(loadavg());

    const lat = (path: string, xs: number[], bgRate: number) => ({ path, n: xs.length, background_ev_s: Math.round(bgRate), p50_ms: r1(percentile(xs, 50)), p99_ms: r1(percentile(xs, 99)), max_ms: r1(Math.max(...xs)) });
    const latencyRows = (s: LatencySamples, bgRate: number, tag: string) => [
      lat(`publish → SMS file in outbox/ (${tag})`, s.outbox, bgRate),
      lat(`publish → SMS file in sent/ (${tag})`, s.sent, bgRate),
      lat(`publish → push decrypted (${tag})`, s.push, bgRate),
    ];
    const rows: Array<Record<string, string | number>> = [...latencyRows(idle, 0, 'idle'), ...latencyRows(loaded, bgResult.rate, 'loaded')];
    const stormRow = (path: string, r: typeof paced) => ({
      path, n: r.notifications, background_ev_s: 0, p50_ms: r1(r.p50_ms), p99_ms: r1(r.p99_ms), max_ms: '',
      notif_per_s: r1(r.notifications_per_s), outbox_per_s: r1(r.outbox_notifications_per_s),
      last_after_last_publish_s: r.last_delivered_after_last_publish_s.toFixed(2), hub_us_per_notif: Math.round(r.hub_cpu_us_per_notification),
    });
    rows.push(stormRow(`storm: ${ESTATES} estates over ${STORM_S} s → webhook`, paced));
    rows.push(stormRow(`burst: ${ESTATES} estates at once → webhook`, burst));
    rows.push({ path: `baseline: ${ESTATES} signed POSTs, ${DISPATCH_CONCURRENCY} in flight`, n: base.posts, background_ev_s: 0, p50_ms: r1(base.p50_ms), p99_ms: r1(base.p99_ms), max_ms: '', notif_per_s: r1(base.posts_per_s), outbox_per_s: r1(base.posts_per_s), last_after_last_publish_s: '', hub_us_per_notif: '' });
    const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    console.log(table(rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? ''])))));
    const ratio = burst.outbox_notifications_per_s / base.posts_per_s;
    const p99 = Math.max(...[idle.sent, idle.push, loaded.sent, loaded.push].map((xs) => percentile(xs, 99)));
    const fmt = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
    console.log(`\nend-to-end p99 (worst of SMS in sent/ and push, idle and loaded): ${p99.toFixed(0)} ms (target ≤ 1000); hub part (SMS file in outbox/) p99 loaded ${percentile(loaded.outbox, 99).toFixed(0)} ms`);
    console.log(`outbox at full speed ${burst.outbox_notifications_per_s.toFixed(0)} notifications/s vs baseline ${base.posts_per_s.toFixed(0)} POSTs/s: ratio ${ratio.toFixed(2)}; storm needs ${(ESTATES / STORM_S).toFixed(0)}/s`);
    console.log(`background ${Math.round(bgResult.rate)} ev/s; load average start ${fmt(load[0]!)}, end ${fmt(load[1]!)} (${cpus().length} CPUs)`);

    const file = new URL('./results/latest.json', import.meta.url);
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    const json = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
    const summary = (s: number[]) => ({ p50_ms: percentile(s, 50), p99_ms: percentile(s, 99), max_ms: Math.max(...s) });
    json.notify = {
      when: new Date().toISOString(),
      load_average: { start: load[0], end: load[1] },
      samples: SAMPLES,
      background_ev_s: bgResult.rate,
      idle: { sms_outbox: summary(idle.outbox), sms_sent: summary(idle.sent), push: summary(idle.push) },
      loaded: { sms_outbox: summary(loaded.outbox), sms_sent: summary(loaded.sent), push: summary(loaded.push) },
      p99_end_to_end_ms: p99,
      storm: { estates: ESTATES, span_s: STORM_S, ...paced },
      burst,
      baseline: { concurrency: DISPATCH_CONCURRENCY, ...base },
      ratio_outbox_vs_baseline: ratio,
    };
    writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
    log('wrote the notify key of bench/results/latest.json');
  } finally {
    await Promise.all(gws.map((g) => g.client.endAsync(true).catch(() => undefined)));
    await stopChild(hub.proc).catch(() => undefined);
    await hook.close();
    await push.close();
    await smsd.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
