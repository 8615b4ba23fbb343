/**
 * Micro-benchmark of the hub's per-event CPU work outside the broker: decode + validate
 * (protocol/events.ts), line encoding and the event-log append (hub/eventlog, which decides
 * duplicates; on SQLite, with the events rows in the same transaction). Prints µs per event.
 *
 *   npx tsx bench/ingest-micro.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monotonicFactory } from 'ulid';
import pino from 'pino';
import { createEventLog } from '../hub/eventlog/index.js';
import { openDatabase } from '../hub/platform/db/index.js';
import { createSqliteStore } from '../hub/store/sqlite.js';
import { encodeEvent } from '../hub/store/influx-line.js';
import { EVENT_TYPES, EnvelopeBase, decodeEvent, validateEvent, type EventType, type RbEvent } from '../protocol/index.js';

const N = Number(process.env.RB_BENCH_N ?? 200_000);
const nextId = monotonicFactory();
const payloads = Array.from({ length: N }, (_, i) => {
  const ts = Date.now();
  return Buffer.from(JSON.stringify({
    v: 1, id: nextId(ts), seq: i + 1, ts, estate: 'bench-estate', gateway: 'gw-1', device: `gate-${i % 4}`,
    type: 'access.granted', data: { door: 1, reader: 1, method: 'card', credential: '3f7a9c1e5b2d4f60' },
  }));
});

function time(name: string, fn: (i: number) => void): void {
  for (let i = 0; i < Math.min(N, 20_000); i++) fn(i); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn(i);
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / N;
  console.log(`${name.padEnd(34)} ${us.toFixed(2)} µs/event`);
}

const parsed = payloads.map((p) => JSON.parse(p.toString('utf8')) as unknown);
const events = parsed.map((v) => (validateEvent(v) as { event: RbEvent }).event);
time('JSON.parse', (i) => JSON.parse(payloads[i]!.toString('utf8')));
time('validateEvent (parsed)', (i) => validateEvent(parsed[i]));
// The zod-only path validateEvent took before its fast envelope check, for comparison in one run.
time('zod envelope + zod data (parsed)', (i) => {
  const base = EnvelopeBase.safeParse(parsed[i]);
  if (base.success) EVENT_TYPES[base.data.type as EventType].data.safeParse(base.data.data);
});
time('decodeEvent (bytes)', (i) => decodeEvent(payloads[i]!, 8192));
time('encodeEvent (line)', (i) => encodeEvent(events[i]!, Date.now()));
const dir = mkdtempSync(join(tmpdir(), 'rb-micro-'));
try {
  const hubDb = await openDatabase({ file: join(dir, 'hub.db'), log: pino({ level: 'silent' }) });
  const eventLog = createEventLog({ db: hubDb, retention: { maxRows: 1_000_000 } });
  const store = createSqliteStore({ db: hubDb, log: pino({ level: 'silent' }) });
  await store.start();
  const B = 200;
  const run = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i += B) {
      const batch = events.slice(i, Math.min(to, i + B));
      await hubDb.transaction(async (trx) => {
        const fresh = await eventLog.append(batch.map((e) => ({ key: e.id, kind: 'event', estate: e.estate, body: e })), trx);
        await store.writeIn!(trx, fresh.map((f) => f.body as RbEvent));
      });
    }
  };
  await run(0, Math.min(N, 20_000)); // warm up
  const t0 = process.hrtime.bigint();
  await run(Math.min(N, 20_000), N);
  const n = N - Math.min(N, 20_000);
  console.log(`${`log append + events rows (${B})`.padEnd(34)} ${(Number(process.hrtime.bigint() - t0) / 1e3 / n).toFixed(2)} µs/event`);
  await hubDb.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
