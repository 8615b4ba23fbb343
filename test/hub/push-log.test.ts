import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openPushLog } from '../../hub/push/log.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'rb-pushlog-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('push log', () => {
  it('numbers each scope on its own and replays in order after a sequence', () => {
    const log = openPushLog(tmp());
    expect(log.append('estate:a', 'event', { n: 1 }).seq).toBe(1);
    expect(log.append('estate:b', 'event', { n: 1 }).seq).toBe(1);
    expect(log.append('estate:a', 'alert:new', { n: 2 }).seq).toBe(2);
    expect(log.append('estate:a', 'alert:update', { n: 3 }).seq).toBe(3);
    const rows = log.after('estate:a', 1, 100)!;
    expect(rows.map((r) => [r.seq, r.event, r.data])).toEqual([
      [2, 'alert:new', { n: 2 }],
      [3, 'alert:update', { n: 3 }],
    ]);
    expect(log.after('estate:b', 1, 100)).toEqual([]);
    expect(log.last('estate:a')).toBe(3);
    log.close();
  });

  it('says null (reload) when more were missed than the limit', () => {
    const log = openPushLog(tmp());
    for (let i = 0; i < 11; i++) log.append('estate:a', 'event', i);
    expect(log.after('estate:a', 0, 10)).toBeNull();
    expect(log.after('estate:a', 1, 10)).toHaveLength(10);
    log.close();
  });

  it('never reuses a sequence after a restart, even when the last rows were not flushed', () => {
    const dir = tmp();
    const a = openPushLog(dir, { bufferRows: 16 });
    for (let i = 0; i < 5; i++) a.append('estate:a', 'event', i);
    a.flush();
    // Two more appended but never flushed: a kill -9 would lose them, a client may have seen seq 7.
    a.append('estate:a', 'event', 5);
    a.append('estate:a', 'event', 6);
    const b = openPushLog(dir, { bufferRows: 16 });
    const next = b.append('estate:a', 'event', 'after restart');
    expect(next.seq).toBeGreaterThan(7);
    expect(b.after('estate:a', 7, 100)!.map((r) => r.data)).toEqual(['after restart']);
    b.close();
    a.close();
  });

  it('prunes by age and by row cap', () => {
    const log = openPushLog(tmp(), { retentionMs: 1000, maxRows: 3 });
    log.append('estate:a', 'event', 'old', 1_000);
    for (let i = 0; i < 5; i++) log.append('estate:a', 'event', i, 10_000 + i);
    expect(log.prune(10_500)).toBe(3);
    expect(log.after('estate:a', 0, 100)!.map((r) => r.data)).toEqual([2, 3, 4]);
    log.close();
  });

  it('still replays after a client was away 5 minutes (and 6 days): only the 7-day retention drops rows', () => {
    const log = openPushLog(tmp());
    const t0 = Date.UTC(2026, 10, 27, 8, 0, 0);
    for (let i = 0; i < 5; i++) log.append('estate:a', 'alert:update', { i }, t0 + i * 1000);
    expect(log.prune(t0 + 5 * 60_000)).toBe(0);
    expect(log.after('estate:a', 1, 100)!.map((r) => r.data)).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }]);
    expect(log.prune(t0 + 6 * 24 * 3600_000)).toBe(0);
    expect(log.prune(t0 + 7 * 24 * 3600_000 + 2500)).toBe(3);
    log.close();
  });
});
