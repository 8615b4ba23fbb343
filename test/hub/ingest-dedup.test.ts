import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openDedupWindow } from '../../hub/ingest/dedup.js';

describe('dedup window (memory in front of {dataDir}/dedup.db)', () => {
  const root = mkdtempSync(join(tmpdir(), 'rb-dedup-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let k = 0;
  const dir = (): string => mkdtempSync(join(root, `w${++k}-`));
  const ids = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `id-${from + i}`);

  it('remembers ids across a reopen, and counts each once', () => {
    const d = dir();
    const w = openDedupWindow(d, 1000);
    w.addMany(['a', 'b', 'a']);
    w.add('b');
    w.add('c');
    expect([w.has('a'), w.has('b'), w.has('c'), w.has('d')]).toEqual([true, true, true, false]);
    expect(w.size()).toBe(3);
    w.close();
    const again = openDedupWindow(d, 1000);
    expect([again.has('a'), again.has('c'), again.has('d')]).toEqual([true, true, false]);
    expect(again.size()).toBe(3);
    again.close();
  });

  it('prunes the oldest ids on disk and in memory alike, keeping the newest `capacity`', () => {
    const d = dir();
    const w = openDedupWindow(d, 1000);
    for (let i = 0; i < 2500; i += 100) w.addMany(ids(i, i + 100));
    // Pruned when 10 % over: between capacity and 1.1 × capacity remain.
    expect(w.size()).toBeGreaterThanOrEqual(1000);
    expect(w.size()).toBeLessThanOrEqual(1100);
    const kept = ids(0, 2500).filter((id) => w.has(id));
    expect(kept.length).toBe(w.size());
    expect(kept).toEqual(ids(2500 - kept.length, 2500)); // the newest, contiguous
    w.close();
    const db = new Database(join(d, 'dedup.db'), { readonly: true });
    const onDisk = db.prepare('SELECT id FROM seen ORDER BY n').pluck().all();
    db.close();
    expect(onDisk).toEqual(kept);
    const again = openDedupWindow(d, 1000);
    expect(ids(0, 2500).filter((id) => again.has(id))).toEqual(kept);
    again.close();
  });

  it('is on disk as soon as addMany returns (what a kill -9 leaves is what was added)', () => {
    const d = dir();
    const w = openDedupWindow(d, 1000);
    w.addMany(ids(0, 50));
    // A second connection sees the committed rows without the first being closed.
    const db = new Database(join(d, 'dedup.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) FROM seen').pluck().get()).toBe(50);
    db.close();
    w.close();
  });
});
