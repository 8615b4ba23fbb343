import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Outbox } from '../../../gateway/outbox.js';
import { createSqliteOutbox, type SqliteOutboxOptions } from '../../../gateway/outbox-sqlite.js';
import { silentLogger } from '../../../lib/log.js';
import { describeOutbox, makeEvent } from './contract.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rb-outbox-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
for (const synchronous of ['normal', 'full'] as const) {
  describeOutbox(`sqlite (WAL, synchronous=${synchronous})`, async (caps) => {
    // A folder that does not exist yet: start() creates it.
    const file = join(dir, `contract-${++n}`, 'outbox.db');
    const make = () => createSqliteOutbox({ file, log: silentLogger(), synchronous, ...caps });
    return { outbox: make(), reopen: async () => make(), cleanup: () => rm(join(file, '..'), { recursive: true, force: true }) };
  }, { persistent: true });
}

const ZERO = { alarm: 0, routine: 0 };

describe('sqlite outbox', () => {
  const open: Outbox[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.stop();
  });
  async function started(name: string, over: Partial<SqliteOutboxOptions> = {}): Promise<Outbox> {
    const outbox = createSqliteOutbox({ file: join(dir, name), log: silentLogger(), ...over });
    await outbox.start();
    open.push(outbox);
    return outbox;
  }
  const meta = (file: string) => {
    const raw = new Database(join(dir, file), { readonly: true });
    try {
      return Object.fromEntries(raw.prepare<[], [string, number]>('SELECT key, value FROM meta').raw().all());
    } finally {
      raw.close();
    }
  };

  it('creates the schema once, in WAL mode, in a folder it makes', async () => {
    const name = join('deep', 'er', 'schema.db');
    await (await started(name)).stop();
    await (await started(name)).stop();
    const raw = new Database(join(dir, name), { readonly: true });
    try {
      expect(raw.pragma('user_version', { simple: true })).toBe(1);
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      const cols = raw.prepare<[], [string]>("SELECT name FROM pragma_table_info('events')").raw().all().flat();
      expect(cols).toEqual(['seq', 'id', 'device', 'alarm', 'bytes', 'appended_at', 'body']);
      const lane = raw.prepare<[], [string]>("SELECT name FROM pragma_index_info('events_lane')").raw().all().flat();
      expect(lane).toEqual(['alarm', 'seq', 'bytes']);
    } finally {
      raw.close();
    }
  });

  it('refuses a file written by a newer schema', async () => {
    await (await started('newer.db')).stop();
    const raw = new Database(join(dir, 'newer.db'));
    raw.pragma('user_version = 7');
    raw.close();
    await expect(createSqliteOutbox({ file: join(dir, 'newer.db'), log: silentLogger() }).start()).rejects.toThrow(/newer/);
  });

  it('persists the seq high-water mark once per block of 1000, not once per nextSeq', async () => {
    const outbox = await started('seq.db');
    expect(outbox.nextSeq()).toBe(1);
    expect(meta('seq.db').seq_reserved).toBe(1000);
    for (let i = 0; i < 999; i++) outbox.nextSeq();
    expect(meta('seq.db').seq_reserved).toBe(1000);
    expect(outbox.nextSeq()).toBe(1001);
    expect(meta('seq.db').seq_reserved).toBe(2000);
    // An event numbered elsewhere still lifts the mark: seq never goes back below max(seq).
    await outbox.append(makeEvent(5_000));
    expect(outbox.nextSeq()).toBe(5_001);
  });

  it('rejects append and nextSeq before start', async () => {
    const outbox = createSqliteOutbox({ file: join(dir, 'unstarted.db'), log: silentLogger() });
    expect(() => outbox.nextSeq()).toThrow(/not started/);
    await expect(outbox.append(makeEvent(1))).rejects.toThrow(/not started/);
    expect(outbox.read(ZERO, 10)).toEqual([]);
  });

  it('writes appends still waiting for their turn when stopped', async () => {
    const outbox = await started('stop.db');
    const event = makeEvent(outbox.nextSeq(), 'alarm');
    const pending = outbox.append(event);
    await outbox.stop();
    await expect(pending).resolves.toEqual({ stored: true, evicted: 0 });
    const again = await started('stop.db');
    expect(again.read(ZERO, 10)).toEqual([event]);
  });

  it('stores a re-appended event (same id) once; rejects a reused seq without losing the rest', async () => {
    const outbox = await started('dup.db');
    const e = makeEvent(outbox.nextSeq());
    await outbox.append(e);
    expect(await outbox.append({ ...e, seq: outbox.nextSeq() })).toEqual({ stored: true, evicted: 0 });
    const twice = makeEvent(outbox.nextSeq(), 'alarm');
    expect(await Promise.all([outbox.append(twice), outbox.append(twice)])).toEqual([
      { stored: true, evicted: 0 },
      { stored: true, evicted: 0 },
    ]);
    const [a, b] = [makeEvent(outbox.nextSeq()), makeEvent(outbox.nextSeq())];
    const settled = await Promise.allSettled([outbox.append(a), outbox.append(makeEvent(e.seq)), outbox.append(b)]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/already holds seq/);
    expect(outbox.read(ZERO, 10)).toEqual([twice, e, a, b]);
    expect(outbox.stats()).toMatchObject({ depth: 4, alarms: 1, droppedTotal: 0 });
  });

  it('throughput (printed; the benchmark proper belongs in bench/)', async () => {
    const rate = (count: number, ms: number) => Math.round((count * 1000) / ms);
    const report: Record<string, number> = {};
    for (const synchronous of ['normal', 'full'] as const) {
      const outbox = await started(`speed-${synchronous}.db`, { synchronous });
      const total = synchronous === 'normal' ? 20_000 : 5_000;
      // Events are built before the clock starts: the figures are the outbox's, not the fixtures'.
      const batched = Array.from({ length: total }, (_, i) => makeEvent(outbox.nextSeq(), i % 1000 ? 'routine' : 'alarm'));
      const single = Array.from({ length: 1_000 }, () => makeEvent(outbox.nextSeq()));
      let t = performance.now();
      for (let i = 0; i < total; i += 100) await Promise.all(batched.slice(i, i + 100).map((e) => outbox.append(e)));
      report[`${synchronous}: appends/s, 100 per tick`] = rate(total, performance.now() - t);
      t = performance.now();
      for (const e of single) await outbox.append(e);
      report[`${synchronous}: appends/s, one at a time`] = rate(1_000, performance.now() - t);
      t = performance.now();
      const cursor = { ...ZERO };
      let read = 0;
      for (let page = outbox.read(cursor, 100); page.length > 0; page = outbox.read(cursor, 100)) {
        read += page.length;
        for (const e of page) {
          if (e.type === 'door.forced') cursor.alarm = e.seq;
          else cursor.routine = e.seq;
        }
      }
      report[`${synchronous}: reads/s, pages of 100`] = rate(read, performance.now() - t);
      expect(read).toBe(total + 1_000);
      t = performance.now();
      for (let page = outbox.read(ZERO, 100); page.length > 0; page = outbox.read(ZERO, 100)) {
        for (const e of page) outbox.ack(e.seq);
        await new Promise((resolve) => setImmediate(resolve));
      }
      report[`${synchronous}: acks/s, 100 per tick`] = rate(read, performance.now() - t);
      expect(outbox.stats().depth).toBe(0);
    }
    console.log('sqlite outbox throughput on this machine:', report);
    expect(report['normal: appends/s, 100 per tick']).toBeGreaterThan(2_000);
  });
});
