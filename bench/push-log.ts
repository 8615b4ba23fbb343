/**
 * Cost of giving push-log sequences with several writer processes (issue 18 item 5): the same
 * writes on one real PostgreSQL 15 with `sharedWriters` (a transaction-level advisory lock per scope,
 * the scope's maximum read under it) and without (the maximum cached in the process, one writer
 * only), and on the embedded SQLite. Two shapes: the flush window (64 messages over 16 estate scopes
 * per transaction, what the event stream writes) and the outbox transaction (2 messages, an alert
 * change and one `alert:notify`). Prints wall µs and CPU µs (this process, and the PostgreSQL server
 * as a process tree) per message.
 *
 *   npx tsx bench/push-log.ts      (RB_BENCH_MESSAGES, default 20,000 per case)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openDatabase, type HubDatabase } from '../hub/platform/db/index.js';
import { createPushLog } from '../hub/push/log.js';
import { startPostgres } from '../test/support/postgres.js';
import { childPid, table, treeCpu } from './lib.js';

const MESSAGES = Number(process.env.RB_BENCH_MESSAGES ?? 20_000);
const log = pino({ level: 'warn' });

let runs = 0;
async function run(db: HubDatabase, sharedWriters: boolean, shape: 'window' | 'outbox', pgRoot: number | undefined): Promise<Record<string, string | number>> {
  // Scopes of their own per run: rows of an earlier run (and their dead index entries) never in the way.
  const run = ++runs;
  const pushLog = createPushLog(db, log, { sharedWriters, flushMs: 60_000, batchRows: 1 << 30 });
  const pgCpu = (): number => (pgRoot === undefined ? 0 : [...treeCpu(pgRoot).values()].reduce((a, b) => a + b, 0));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const p0 = pgCpu();
  let n = 0;
  for (let tx = 0; n < MESSAGES; tx++) {
    if (shape === 'window') {
      for (let i = 0; i < 64; i++, n++) pushLog.append(`estate:r${run}e${(tx * 64 + i) % 16}`, 'event', { n, device: 'gate-1', kind: 'access.granted' });
      await pushLog.flush();
    } else {
      await pushLog.transaction(async (_trx, out) => {
        await out.append(`estate:r${run}e${tx % 16}`, 'alert:update', { n });
        await out.append(`user:r${run}u${tx % 4}`, 'alert:notify', { n });
      });
      n += 2;
    }
  }
  const wallUs = (performance.now() - t0) * 1000;
  const c = process.cpuUsage(c0);
  const pgUs = (pgCpu() - p0) * 1e6;
  await pushLog.close();
  const per = (us: number): number => Math.round((us / n) * 10) / 10;
  return {
    engine: db.dialect,
    sequences: sharedWriters ? 'advisory lock' : 'cached',
    shape: shape === 'window' ? '64 msgs/tx, 16 scopes' : '2 msgs/tx, 2 scopes',
    messages: n,
    'wall µs/msg': per(wallUs),
    'node CPU µs/msg': per(c.user + c.system),
    'postgres CPU µs/msg': pgRoot === undefined ? '-' : per(pgUs),
  };
}

async function main(): Promise<void> {
  const load = loadavg()[0]!.toFixed(2);
  const pg = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'rb-bench-pushlog-'));
  const rows: Array<Record<string, string | number>> = [];
  try {
    const pgDb = await openDatabase({ url: await pg.createDatabase('bench_push_log'), log });
    const root = childPid('runuser') ?? childPid('postgres');
    const sqlite = await openDatabase({ file: join(dir, 'hub.db'), log });
    for (const shape of ['window', 'outbox'] as const) {
      await run(pgDb, true, shape, root); // warm-up (statements, buffers)
      rows.push(await run(pgDb, false, shape, root));
      rows.push(await run(pgDb, true, shape, root));
      rows.push(await run(sqlite, false, shape, undefined));
    }
    await pgDb.close();
    await sqlite.close();
  } finally {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(table(rows));
  console.log(`${cpus().length} cores, load average at start ${load} (shared machine), PostgreSQL 15 with synchronous_commit=off (test settings)`);
}

await main();
