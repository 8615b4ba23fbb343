/**
 * In-process benchmark of the hub's ingest path without the broker and the network, the part a busy
 * shared machine blurs least: payload bytes → ingest (decode, validate, batch) → event log append
 * with the events rows (embedded SQLite hub.db) → the push consumer (push log rows and its cursor).
 * Prints CPU µs per event of this process (the WAL checkpointer thread included).
 *
 *   npx tsx bench/ingest-pipeline.ts                     (this tree's dist/: npm run build first)
 *   RB_BENCH_ROOT=/path/to/other/tree npx tsx bench/ingest-pipeline.ts   (another build's dist/, e.g. a
 *                                                          git worktree of main, for an A/B in one run)
 *   RB_BENCH_N (events, default 100,000), RB_BENCH_BATCH (PUBLISHes handed over per turn, default 160)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { monotonicFactory } from 'ulid';

const ROOT = resolve(process.env.RB_BENCH_ROOT ?? new URL('..', import.meta.url).pathname);
const N = Number(process.env.RB_BENCH_N ?? 100_000);
const BATCH = Number(process.env.RB_BENCH_BATCH ?? 160);
const mod = (path: string): Promise<Record<string, any>> => import(pathToFileURL(join(ROOT, 'dist', path)).href); // eslint-disable-line @typescript-eslint/no-explicit-any

const [{ createDatabase }, { createEventLog, createLogFeed }, { createBus }, { createSqliteStore }, { createIngest }, { createMetrics }, { createPushLog }] = await Promise.all([
  mod('hub/platform/db/index.js'), mod('hub/eventlog/index.js'), mod('hub/bus.js'), mod('hub/store/sqlite.js'), mod('hub/ingest/ingest.js'), mod('hub/metrics.js'), mod('hub/push/log.js'),
]);

const silent = pino({ level: 'silent' });
const nextId = monotonicFactory();
const GATEWAYS = 4;
const payloads = Array.from({ length: N }, (_, i) => {
  const ts = Date.now();
  const gateway = `gw-${i % GATEWAYS}`;
  return { gateway, bytes: Buffer.from(JSON.stringify({ v: 1, id: nextId(ts), seq: Math.floor(i / GATEWAYS) + 1, ts, estate: 'bench-estate', gateway, device: 'gate-1', type: 'access.granted', data: { door: 1, reader: 1, method: 'card', credential: '3f7a9c1e5b2d4f60' } })) };
});

const dir = mkdtempSync(join(tmpdir(), 'rb-pipeline-'));
try {
  const db = createDatabase({ file: join(dir, 'hub.db'), log: silent, checkpointInWorker: true });
  await db.migrate();
  const eventLog = createEventLog({ db, retention: { maxRows: 1_000_000 } });
  const feed = createLogFeed({ log: eventLog, db, bus: createBus(silent), logger: silent });
  const store = createSqliteStore({ db, log: silent });
  await store.start();
  const pushLog = createPushLog(db, silent, {
    saveSourceCursor: (trx: unknown, sources: readonly number[]) => feed.commitSinkCursor(trx, 'push', sources),
    sources: { committed: (s: readonly number[]) => feed.sinkCommitted('push', s), failed: (s: readonly number[]) => feed.sinkFailed('push', s), keep: (s: number) => feed.sinkWants('push', s) },
  });
  // The push consumer as hub/push/push.ts wires it for events: one push-log row per event, its cursor in the row's transaction.
  feed.consumer('push', { cursorInSink: true }).on('event', (e: { estate: string }, pos: number) => pushLog.append(`estate:${e.estate}`, 'event', e, undefined, pos));
  await feed.start();
  const ingest = createIngest({ store, feed, metrics: createMetrics(), log: silent, maxPayloadBytes: 8192, maxResultBytes: 65536 });
  const topics = Array.from({ length: GATEWAYS }, (_, g) => ({ kind: 'event', estate: 'bench-estate', gateway: `gw-${g}`, device: 'gate-1' }));
  const whos = Array.from({ length: GATEWAYS }, (_, g) => ({ estate: 'bench-estate', gateway: `gw-${g}` }));

  const run = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i += BATCH) {
      const verdicts: Array<Promise<{ action: string }>> = [];
      for (let j = i; j < Math.min(to, i + BATCH); j++) {
        const g = j % GATEWAYS;
        verdicts.push(ingest.handle(whos[g], topics[g], payloads[j]!.bytes));
      }
      for (const v of await Promise.all(verdicts)) if (v.action !== 'accept') throw new Error(`verdict ${v.action}`);
    }
    await pushLog.flush();
  };
  const warm = Math.min(20_000, Math.floor(N / 5));
  await run(0, warm);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run(warm, N);
  const cpu = process.cpuUsage(cpu0);
  const n = N - warm;
  console.log(JSON.stringify({ root: ROOT, events: n, batch: BATCH, cpu_us_per_event: +((cpu.user + cpu.system) / n).toFixed(2), wall_us_per_event: +(((performance.now() - t0) * 1000) / n).toFixed(2) }));
  await pushLog.close();
  await feed.stop();
  await db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
