import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppendResult, Outbox } from '../../../gateway/outbox.js';
import { createSqliteOutbox } from '../../../gateway/outbox-sqlite.js';
import { createLogger } from '../../../lib/log.js';
import { makeEvent } from './contract.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rb-outbox-full-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ZERO = { alarm: 0, routine: 0 };
const ALL = 1_000_000;
// 40 pages of 4 KiB: room for a few hundred small events, then SQLite answers SQLITE_FULL for real.
const MAX_PAGES = 40;

/** Rows actually in the file, seen through a second connection (the outbox may hold more in memory). */
function rowsOnDisk(file: string): number {
  const raw = new Database(file, { readonly: true });
  try {
    return raw.prepare<[], number>('SELECT count(*) FROM events').pluck().get()!;
  } finally {
    raw.close();
  }
}

function tally(results: AppendResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) {
    const key = r.stored ? (r.evicted ? 'evicted' : 'stored') : r.reason;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

describe('sqlite outbox: disk full (PRAGMA max_page_count)', () => {
  it('keeps every alarm, evicts or refuses routine events and counts them, never throws', async () => {
    const file = join(dir, 'full.db');
    const logs: Array<{ level: number; msg: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
        done();
      },
    });
    const log = createLogger({ name: 'test', level: 'info', destination: sink });
    let outbox: Outbox = createSqliteOutbox({ file, log, maxPageCount: MAX_PAGES });
    await outbox.start();
    const add = (kind: 'alarm' | 'routine') => outbox.append(makeEvent(outbox.nextSeq(), kind));
    try {
      // 1. Routine events fill the file; after that they make room by evicting the oldest routine.
      // Ten per tick, so a shared transaction fails half-way and is redone event by event.
      const routine = [];
      for (let i = 0; i < 60; i++) routine.push(...(await Promise.all(Array.from({ length: 10 }, () => add('routine')))));
      expect(routine.every((r) => r.stored)).toBe(true);
      const evicted = routine.reduce((n, r) => n + (r.stored ? r.evicted : 0), 0);
      expect(evicted).toBeGreaterThan(0);
      expect(outbox.stats()).toMatchObject({ depth: 600 - evicted, droppedTotal: evicted, droppedSinceStart: evicted });
      expect(rowsOnDisk(file)).toBe(600 - evicted);

      // 2. Alarms push the routine events out, then, with no routine left, wait in memory.
      const alarms = [];
      for (let i = 0; i < 600; i++) {
        const event = makeEvent(outbox.nextSeq(), 'alarm');
        expect((await outbox.append(event)).stored).toBe(true);
        alarms.push(event);
      }
      expect(outbox.stats()).toMatchObject({ depth: 600, alarms: 600, droppedTotal: 600 });
      const onDisk = rowsOnDisk(file);
      expect(onDisk).toBeLessThan(600); // the rest is the in-memory overflow
      expect(outbox.read(ZERO, ALL)).toEqual(alarms);
      expect(outbox.read({ alarm: alarms[onDisk - 3]!.seq, routine: 0 }, 5)).toEqual(alarms.slice(onDisk - 2, onDisk + 3));

      // 3. Routine events are refused and counted; the episode is logged once, not once per event.
      expect(tally(await Promise.all([add('routine'), add('routine'), add('alarm')]))).toEqual({ 'disk-full': 2, stored: 1 });
      const alarm601 = outbox.read({ alarm: alarms.at(-1)!.seq, routine: 0 }, 5);
      expect(alarm601).toHaveLength(1);
      alarms.push(alarm601[0]!);
      expect(outbox.stats()).toMatchObject({ depth: 601, alarms: 601, droppedTotal: 602 });
      expect(logs.filter((l) => l.level === 50 && /disk full/.test(l.msg))).toHaveLength(1);

      // Acking an alarm that only lives in memory removes it like any other.
      outbox.ack(alarms.pop()!.seq);
      expect(outbox.stats()).toMatchObject({ depth: 600, alarms: 600 });

      // 4. PUBACKs free rows: the alarms held in memory are written on the next turn.
      for (const e of alarms.splice(0, 300)) outbox.ack(e.seq);
      await new Promise((resolve) => setImmediate(resolve));
      expect(rowsOnDisk(file)).toBe(300);
      expect(logs.filter((l) => l.level === 30 && /disk space is back/.test(l.msg))).toHaveLength(1);
      const after = makeEvent(outbox.nextSeq());
      expect(await outbox.append(after)).toEqual({ stored: true, evicted: 0 });

      // 5. All of it is on disk now: a reopen finds it, with the drop counter.
      await outbox.stop();
      outbox = createSqliteOutbox({ file, log, maxPageCount: MAX_PAGES });
      await outbox.start();
      expect(outbox.read(ZERO, ALL)).toEqual([...alarms, after]);
      expect(outbox.stats()).toMatchObject({ depth: 301, alarms: 300, droppedTotal: 602, droppedSinceStart: 0 });
    } finally {
      await outbox.stop();
    }
  });
});
