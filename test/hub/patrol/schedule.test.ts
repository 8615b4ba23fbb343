import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { zonedInstant } from '../../../lib/zoned.js';
import { ULID_PATTERN } from '../../../protocol/ids.js';
import { decodeEvent } from '../../../protocol/index.js';
import { deterministicUlid, dueAt, localDay, pointState, runStarts, runState } from '../../../hub/patrol/schedule.js';

const SH = 'Asia/Shanghai';
const sh = (d: number, hh: number, mm = 0): number => zonedInstant(2026, 12, d, hh * 60 + mm, SH);

describe('patrol schedule (pure)', () => {
  it('a round runs at each local start within the range, not long before it was defined', () => {
    const round = { starts: ['20:00', '08:00'], updatedAt: sh(7, 7, 30) };
    expect(runStarts(round, sh(7, 0), sh(8, 12), SH)).toEqual([sh(7, 8), sh(7, 20), sh(8, 8)]);
    // Defined at 14:00: today's 08:00 is in the past and never runs; 08:00 set up at 08:04 does.
    expect(runStarts({ ...round, updatedAt: sh(7, 14) }, sh(7, 0), sh(7, 23), SH)).toEqual([sh(7, 20)]);
    expect(runStarts({ ...round, updatedAt: sh(7, 8, 4) }, sh(7, 0), sh(7, 12), SH)).toEqual([sh(7, 8)]);
  });

  it('local time across a daylight-saving change (Europe/Berlin, 29 March 2026)', () => {
    const B = 'Europe/Berlin';
    const starts = runStarts({ starts: ['08:00'], updatedAt: 0 }, Date.UTC(2026, 2, 28), Date.UTC(2026, 2, 30, 12), B);
    expect(starts.map((s) => new Date(s).toISOString())).toEqual(['2026-03-28T07:00:00.000Z', '2026-03-29T06:00:00.000Z', '2026-03-30T06:00:00.000Z']);
    const day = localDay(Date.UTC(2026, 2, 29, 12), B);
    expect(day.end - day.start).toBe(23 * 3_600_000);
  });

  it('deadlines: each checkpoint by its own offset, else by the window end', () => {
    expect(dueAt(sh(7, 8), 30, 10)).toBe(sh(7, 8, 10));
    expect(dueAt(sh(7, 8), 30, undefined)).toBe(sh(7, 8, 30));
  });

  it('states of points and runs', () => {
    const open = { scannedAt: null, late: false, missedAt: null };
    const done = { scannedAt: 1, late: false, missedAt: null };
    const late = { scannedAt: 2, late: true, missedAt: 1 };
    const missed = { scannedAt: null, late: false, missedAt: 1 };
    expect([open, done, late, missed].map(pointState)).toEqual(['pending', 'scanned', 'late', 'missed']);
    expect(runState(100, 200, [open, done], 50)).toBe('upcoming');
    expect(runState(100, 200, [missed, done], 150)).toBe('active');
    expect(runState(100, 200, [missed, done], 201)).toBe('incomplete');
    expect(runState(100, 200, [late, done], 201)).toBe('done');
  });

  it('the missed event id is a ULID, the same for the same run and checkpoint, different otherwise', () => {
    const hash = (s: string) => createHash('sha256').update(s).digest();
    const a = deterministicUlid(sh(7, 8, 25), hash('rd-1.1|cp-4'));
    expect(a).toMatch(ULID_PATTERN);
    expect(deterministicUlid(sh(7, 8, 25), hash('rd-1.1|cp-4'))).toBe(a);
    expect(deterministicUlid(sh(7, 8, 25), hash('rd-1.1|cp-3'))).not.toBe(a);
    // Its time part is the deadline (ULIDs sort by time).
    expect(deterministicUlid(sh(7, 8, 26), hash('rd-1.1|cp-4')) > a).toBe(true);
  });

  it('a gateway cannot send a hub event: decodeEvent refuses patrol.missed as an unknown type', () => {
    const forged = { v: 1, id: '01KBX0000000000000000000AA', seq: 1, ts: Date.UTC(2026, 11, 7), estate: 'estate-a', gateway: 'gw-1', device: 'cp-1', type: 'patrol.missed', data: {} };
    const r = decodeEvent(JSON.stringify(forged), 65_536);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toBe('unknown-type');
  });
});
