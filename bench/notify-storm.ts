/**
 * bench/notify.ts, part 2: a storm. ESTATES estates, each with one gateway and one on-duty volunteer
 * whose phone number is routed to the local signed-webhook receiver (test/support/providers/webhook.ts,
 * which checks every signature). Two rounds on the same hub:
 *   - storm: one forced door per estate, spread evenly over STORM_S seconds (the storm);
 *   - burst: one more forced door per estate (another device, so a new alert), all at once: what the
 *     outbox can do when the input is not the limit.
 * Each round: publish → webhook accepted per notification (p50/p99), notifications/s, the time until
 * the last one arrived, and the hub's CPU µs per notification (the whole path: ingest, rule, alert,
 * outbox row, render, sign, POST). Beside them a baseline from this process: the same number of
 * signed POSTs to the same receiver at the dispatcher's concurrency (64 sends in flight), so "the
 * outbox is never the bottleneck" is a ratio.
 */
import { randomUUID } from 'node:crypto';
import { signWebhook } from '../hub/notify/channels/webhook.js';
import type { webhookFake } from '../test/support/providers/webhook.js';
import { percentile, procCpuS, sleep } from './lib.js';
import { type GatewayClient, pool } from './notify-setup.js';

/** The dispatcher's sends in flight (hub/notify/dispatcher.ts, maxInFlight default). */
export const DISPATCH_CONCURRENCY = 64;

export type Hook = ReturnType<typeof webhookFake>;

/** When the receiver took each message, with its text (accepted.push wrapped). */
export function recordArrivals(hook: Hook): Array<{ at: number; text: string }> {
  const arrivals: Array<{ at: number; text: string }> = [];
  const push = hook.accepted.push.bind(hook.accepted);
  hook.accepted.push = (...items) => {
    for (const it of items) arrivals.push({ at: performance.now(), text: it.text });
    return push(...items);
  };
  return arrivals;
}

export interface StormRound {
  notifications: number;
  publish_span_s: number;
  /** Delivered notifications / (last delivered − first published). */
  notifications_per_s: number;
  /** Delivered / (last delivered − first delivered): the outbox's own pace. */
  outbox_notifications_per_s: number;
  last_delivered_after_first_publish_s: number;
  last_delivered_after_last_publish_s: number;
  p50_ms: number;
  p99_ms: number;
  hub_cpu_us_per_notification: number;
}

/**
 * Publish one forced door per gateway (`device`), evenly over `spanMs` (0 = all at once), and wait
 * until every estate's notification reached the receiver.
 */
export async function stormRound(gws: GatewayClient[], estates: string[], device: string, spanMs: number, arrivals: Array<{ at: number; text: string }>, hubPid: number): Promise<StormRound> {
  const from = arrivals.length;
  const sentAt = new Map<string, number>();
  const cpu0 = procCpuS(hubPid);
  const t0 = performance.now();
  await Promise.all(gws.map(async (gw, i) => {
    const at = t0 + (spanMs * i) / gws.length;
    const wait = at - performance.now();
    if (wait > 0) await sleep(wait);
    sentAt.set(estates[i]!, performance.now());
    await gw.forced(device);
  }));
  const lastPublish = Math.max(...sentAt.values());
  const got = new Map<string, number>();
  const deadline = performance.now() + 180_000;
  let scanned = from;
  while (got.size < estates.length) {
    for (; scanned < arrivals.length; scanned++) {
      const a = arrivals[scanned]!;
      const estate = /\bstorm-\d+\b/.exec(a.text)?.[0];
      if (estate && a.text.includes(device) && !got.has(estate)) got.set(estate, a.at);
    }
    if (got.size >= estates.length) break;
    if (performance.now() > deadline) throw new Error(`${device}: only ${got.size}/${estates.length} notifications within 180 s`);
    await sleep(5);
  }
  const cpu = procCpuS(hubPid) - cpu0;
  const times = [...got.values()];
  const first = Math.min(...times);
  const last = Math.max(...times);
  const lat = estates.map((e) => got.get(e)! - sentAt.get(e)!);
  const n = estates.length;
  return {
    notifications: n,
    publish_span_s: (lastPublish - t0) / 1000,
    notifications_per_s: n / ((last - t0) / 1000),
    outbox_notifications_per_s: n / Math.max(0.001, (last - first) / 1000),
    last_delivered_after_first_publish_s: (last - t0) / 1000,
    last_delivered_after_last_publish_s: (last - lastPublish) / 1000,
    p50_ms: percentile(lat, 50),
    p99_ms: percentile(lat, 99),
    hub_cpu_us_per_notification: (cpu * 1e6) / n,
  };
}

/** `n` signed webhook POSTs from this process, DISPATCH_CONCURRENCY at a time: posts/s. */
export async function baselinePosts(hook: Hook, secret: string, n: number): Promise<{ posts: number; posts_per_s: number; p50_ms: number; p99_ms: number }> {
  const lat: number[] = [];
  const t0 = performance.now();
  await pool(n, DISPATCH_CONCURRENCY, async (i) => {
    const id = randomUUID();
    const body = JSON.stringify({ id, alertId: `baseline-${i}`, severity: 3, title: '[Red Butler] Door forced · baseline', text: `baseline door-${i}: Door forced, severity 3.`, params: {}, lang: 'en', to: { kind: 'phone', phone: '13900000000' } });
    const ts = Math.floor(Date.now() / 1000);
    const s = performance.now();
    const res = await fetch(hook.url(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-redbutler-timestamp': String(ts), 'x-redbutler-signature': signWebhook(secret, ts, body), 'idempotency-key': id },
      body,
    });
    await res.arrayBuffer();
    if (res.status !== 202) throw new Error(`baseline POST answered ${res.status}`);
    lat.push(performance.now() - s);
  });
  const s = (performance.now() - t0) / 1000;
  return { posts: n, posts_per_s: n / s, p50_ms: percentile(lat, 50), p99_ms: percentile(lat, 99) };
}
