/**
 * bench/notify.ts, part 1: one estate, one on-duty volunteer with a phone on the real gammu-smsd and
 * a push subscription at the local push service. Each sample publishes a forced door (a new device
 * each time, so no two samples share an alert) as the gateway does, QoS 1, and times:
 *   - publish → the SMS file appears in gammu-smsd's outbox/ (the hub's part ends there),
 *   - publish → the same file is in sent/ (the daemon took it and the phone reported it sent),
 *   - publish → the push message is decrypted at the local push service (VAPID checked).
 * Then the alert is resolved by REST and the next sample follows.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { GammuSmsd } from '../test/support/gammu.js';
import type { PushService } from '../test/support/providers/push-service.js';
import { api, type GatewayClient } from './notify-setup.js';
import { sleep } from './lib.js';

export interface LatencySamples { outbox: number[]; sent: number[]; push: number[] }

/** The moments new OUT… files appear in a folder (inotify), one waiter at a time. */
function fileArrivals(dir: string): { next(): Promise<number>; close(): void } {
  const seen = new Set<string>();
  const arrived: number[] = [];
  let waiter: ((t: number) => void) | undefined;
  const w: FSWatcher = watch(dir, (_ev, name) => {
    const n = String(name ?? '');
    if (!n.startsWith('OUT') || seen.has(n)) return;
    seen.add(n);
    const t = performance.now();
    if (waiter) {
      const fn = waiter;
      waiter = undefined;
      fn(t);
    } else arrived.push(t);
  });
  return {
    next() {
      const t = arrived.shift();
      return t !== undefined ? Promise.resolve(t) : new Promise((r) => (waiter = r));
    },
    close: () => w.close(),
  };
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_r, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms).unref())]);

export interface LatencyCtx { base: string; gw: GatewayClient; smsd: GammuSmsd; push: PushService }

export async function measureLatency(ctx: LatencyCtx, n: number, label: string): Promise<LatencySamples> {
  const outbox = fileArrivals(ctx.smsd.spool.outbox);
  const sent = fileArrivals(ctx.smsd.spool.sent);
  const out: LatencySamples = { outbox: [], sent: [], push: [] };
  try {
    for (let i = 0; i < n; i++) {
      const device = `door-${label}-${i}`;
      const pushed = (async () => {
        for (;;) {
          const p = await ctx.push.next(20_000);
          const msg = JSON.parse(p.plaintext) as { alertId: string; title: string };
          if (msg.title.includes(device)) return { at: performance.now(), alertId: msg.alertId };
        }
      })();
      const t0 = performance.now();
      await ctx.gw.forced(device);
      const [o, s, p] = await within(Promise.all([outbox.next(), sent.next(), pushed]), 20_000, `SMS file and push for ${device}`);
      out.outbox.push(o - t0);
      out.sent.push(s - t0);
      out.push.push(p.at - t0);
      await api(ctx.base, 'POST', `/api/v1/alerts/${p.alertId}/resolve`, { note: 'bench' });
      await sleep(50);
      if ((i + 1) % 10 === 0) process.stderr.write(`bench:notify ${label}: ${i + 1}/${n}\n`);
    }
  } finally {
    outbox.close();
    sent.close();
  }
  return out;
}
