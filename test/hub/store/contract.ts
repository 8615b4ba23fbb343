import { ulid } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COUNT_INTERVALS, compareNewestFirst, type CountQuery, type CountRow, type EventPosition, type EventQuery, type EventStore } from '../../../hub/store/types.js';
import { TS_MAX, TS_MIN, validateEvent, type EventType, type RbEvent } from '../../../protocol/index.js';

/**
 * The conformance suite every EventStore runs (STYLE.md §4): the SQLite and the InfluxDB store
 * must be interchangeable behind hub/store/types.ts.
 */
export interface StoreUnderTest {
  /** A store over empty storage, not started yet: the suite calls start() and stop(). */
  store: EventStore;
  /** Remove whatever storage the store used (file, database). */
  cleanup(): Promise<void>;
}

export const T0 = Date.UTC(2024, 4, 1, 8, 0, 0);
let nextSeq = 1;

type Envelope = Omit<RbEvent, 'type' | 'data'>;
type DataOf<K extends EventType> = Extract<RbEvent, { type: K }>['data'];

/** An event with fresh id and seq; seq is unique per test run, so no two events tie on (ts, seq). */
export function makeEvent<K extends EventType>(type: K, data: DataOf<K>, over: Partial<Envelope> = {}): RbEvent {
  return { v: 1, id: ulid(), seq: nextSeq++, ts: T0, estate: 'estate-a', gateway: 'gw-1', device: 'gate-1', ...over, type, data } as RbEvent;
}

/** Free text the protocol allows (Source.vendor): CJK, emoji, quotes, backslashes, controls. */
export const AWKWARD_TEXT = ['红管家 海康威视 😀', 'é\u0301 \u2028\u2029 ‮rtl', `q"'\\'\\\\' \n\t\u0000`, "x' OR 1=1 --"];

/** One event of every type, each data field used, plus extremes of ts and seq. */
export function everyType(): RbEvent[] {
  const hik = { vendor: 'hikvision-isapi', major: 5 };
  return [
    makeEvent('access.granted', {
      door: 1,
      reader: 2,
      method: 'card',
      credential: 'a1b2c3d4e5f60718',
      person: '0123456789abcdef0123456789abcdef',
      source: { ...hik, minor: 0x01, serial: 4711 },
    }),
    makeEvent('access.denied', { door: 2, method: 'face', reason: 'face-mismatch', source: { ...hik, minor: 0x4c } }, { ts: T0 + 1 }),
    makeEvent('door.opened', { door: 1 }, { ts: T0 + 2, device: 'gate-2' }),
    makeEvent('door.closed', { door: 1, source: { vendor: 'zkteco-adms' } }, { ts: T0 + 3, gateway: 'gw-2' }),
    makeEvent('door.forced', { door: 3, source: { ...hik, minor: 0x1b } }, { ts: T0 + 4, estate: 'estate-b' }),
    makeEvent('door.held', { door: 1, heldS: 42.5 }, { ts: T0 + 5, seq: Number.MAX_SAFE_INTEGER }),
    makeEvent('device.tamper', { zone: 0, source: { vendor: 'hikvision-isapi', major: 1, minor: 0x404 } }, { ts: TS_MIN }),
    makeEvent('door.opened', { door: 64 }, { ts: TS_MAX, seq: 0 }),
  ];
}

export function newestFirst(a: RbEvent, b: RbEvent): number {
  return b.ts - a.ts || b.seq - a.seq;
}

/** What a correct store returns for `q` over `all` (the oracle for the filter tests). */
export function expected(all: readonly RbEvent[], q: EventQuery): RbEvent[] {
  return all
    .filter(
      (e) =>
        (q.estate === undefined || e.estate === q.estate) &&
        (q.gateway === undefined || e.gateway === q.gateway) &&
        (q.device === undefined || e.device === q.device) &&
        (q.type === undefined || e.type === q.type) &&
        (q.from === undefined || e.ts >= q.from) &&
        (q.to === undefined || e.ts < q.to),
    )
    .sort(newestFirst)
    .slice(0, q.limit);
}

/** What a correct store's `counts` returns over `all` (the oracle for the counts tests). */
export function expectedCounts(all: readonly RbEvent[], q: CountQuery): CountRow[] {
  const width = COUNT_INTERVALS[q.interval];
  const byKey = new Map<string, CountRow>();
  for (const e of all) {
    if (q.estate !== undefined && e.estate !== q.estate) continue;
    if (q.device !== undefined && e.device !== q.device) continue;
    if (q.type !== undefined && e.type !== q.type) continue;
    if (e.ts < q.from || e.ts >= q.to) continue;
    const start = e.ts - (((e.ts % width) + width) % width);
    const key = `${start} ${e.type}`;
    const row = byKey.get(key) ?? { start, type: e.type, count: 0 };
    row.count += 1;
    byKey.set(key, row);
  }
  return [...byKey.values()].sort((a, b) => a.start - b.start || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}

/**
 * 250 events in 25 milliseconds (10 per ms), 5 devices; within a ms each seq is shared by 5 events
 * of different devices, so only the id orders them. One ms holds seqs past 10⁶ (InfluxDB keys the
 * point by seq mod 10⁶, out of seq order).
 */
function pagingSet(): RbEvent[] {
  return Array.from({ length: 250 }, (_, i) => {
    const ms = Math.floor(i / 10);
    const seq = ms === 7 ? 999_998 + (i % 10) : 100_000 + Math.floor(i / 5);
    return makeEvent('door.opened', { door: 1 + (i % 4) }, { ts: T0 + 3 * ms, seq, device: `gate-${i % 5}` });
  });
}

/** Events for the counts tests: several minutes, hours and days, two types, two estates, bounds. */
function countSet(): RbEvent[] {
  const base = Date.UTC(2024, 4, 1, 0, 0, 0);
  const offsets = [0, 1, 59_999, 60_000, 61_000, 299_999, 300_000, 3_599_999, 3_600_000, 3_600_001, 7_200_000, 86_399_999, 86_400_000, 90_000_000, 172_800_000];
  const out: RbEvent[] = [];
  offsets.forEach((off, i) => {
    out.push(makeEvent('door.opened', { door: 1 }, { ts: base + off, device: `gate-${i % 2}` }));
    if (i % 3 === 0) out.push(makeEvent('door.forced', { door: 1 }, { ts: base + off, estate: 'estate-b' }));
    if (i % 4 === 0) out.push(makeEvent('door.held', { door: 1, heldS: 30 }, { ts: base + off, device: 'gate-1' }));
  });
  return out;
}

/** 2 estates x 2 gateways x 2 devices x 2 types x 3 times: every filter has rows to keep and drop. */
function grid(): RbEvent[] {
  const out: RbEvent[] = [];
  for (const estate of ['estate-a', 'estate-b'])
    for (const gateway of ['gw-1', 'gw-2'])
      for (const device of ['gate-1', 'gate-2'])
        for (const [i, ts] of [T0 + 1_000, T0 + 2_000, T0 + 3_000].entries()) {
          const over = { estate, gateway, device, ts };
          out.push(makeEvent('door.opened', { door: 1 + i }, over), makeEvent('door.forced', { door: 1 }, over));
        }
  return out;
}

export function describeStore(name: string, factory: () => Promise<StoreUnderTest>): void {
  describe(`EventStore contract: ${name}`, () => {
    let sut: StoreUnderTest | undefined;
    let store: EventStore;

    beforeEach(async () => {
      sut = await factory();
      store = sut.store;
      await store.start();
    });

    afterEach(async () => {
      await sut?.store.stop();
      await sut?.cleanup();
      sut = undefined;
    });

    it('fixtures are valid protocol events', () => {
      const awkward = AWKWARD_TEXT.map((vendor) => makeEvent('door.forced', { door: 1, source: { vendor } }));
      for (const e of [...everyType(), ...grid(), ...awkward]) expect(validateEvent(e)).toEqual({ ok: true, event: e });
    });

    it('reads back every event type with every field equal', async () => {
      const events = everyType();
      await store.write(events);
      expect(await store.query({ limit: 100 })).toEqual([...events].sort(newestFirst));
    });

    it('stores a re-delivered event once (idempotent by id)', async () => {
      const event = makeEvent('door.forced', { door: 1 });
      const other = makeEvent('door.closed', { door: 1 }, { ts: T0 + 1 });
      await store.write([event]);
      await store.write([event, event, other]);
      await Promise.all([store.write([event]), store.write([event])]);
      expect(await store.query({ limit: 10 })).toEqual([other, event]);
    });

    it('keeps two events of one device in the same millisecond', async () => {
      // Same estate, gateway, device and type: one InfluxDB series, so only seq keeps them apart.
      const first = makeEvent('door.opened', { door: 1 });
      const second = makeEvent('door.opened', { door: 2 });
      await store.write([first, second]);
      expect(await store.query({ limit: 10 })).toEqual([second, first]);
    });

    it('narrows by each filter, alone and combined', async () => {
      const all = grid();
      await store.write(all);
      const queries: EventQuery[] = [
        { estate: 'estate-b', limit: 1000 },
        { gateway: 'gw-2', limit: 1000 },
        { device: 'gate-1', limit: 1000 },
        { type: 'door.forced', limit: 1000 },
        { from: T0 + 2_000, limit: 1000 }, // inclusive: keeps ts == from
        { to: T0 + 2_000, limit: 1000 }, // exclusive: drops ts == to
        { from: T0 + 1_001, to: T0 + 3_000, limit: 1000 },
        { estate: 'estate-a', gateway: 'gw-1', device: 'gate-2', type: 'door.opened', from: T0, to: T0 + 2_001, limit: 1000 },
        { estate: 'estate-c', limit: 1000 },
      ];
      for (const q of queries) {
        const want = expected(all, q);
        expect(want.length, JSON.stringify(q)).toBeLessThan(all.length);
        expect(await store.query(q), JSON.stringify(q)).toEqual(want);
      }
    });

    it('returns newest first (ts, then seq) and honours limit', async () => {
      const times = [5, 1, 3, 3, 9, 0, 3, 7, 9, 2].map((d) => T0 + d);
      const all = times.map((ts, i) => makeEvent('door.opened', { door: 1 + i }, { ts, device: `gate-${i % 3}` }));
      await store.write([...all].reverse());
      for (const limit of [0, 1, 4, 10, 50]) expect(await store.query({ limit })).toEqual(expected(all, { limit }));
    });

    it('treats injection attempts in filter values as plain values', async () => {
      const all = grid();
      await store.write(all);
      const evil = ["x' OR 1=1 --", "estate-a' OR '1'='1", "\\'", '\\', 'estate-a\n', 'a\nb', '/.*/', '"', "') --"];
      for (const value of evil) {
        for (const key of ['estate', 'gateway', 'device', 'type'] as const) {
          expect(await store.query({ [key]: value, limit: 1000 }), `${key}=${JSON.stringify(value)}`).toEqual([]);
          expect(await store.query({ estate: 'estate-a', [key]: value, limit: 1000 })).toEqual([]);
        }
      }
      expect(await store.query({ limit: 1000 })).toEqual(expected(all, { limit: 1000 }));
    });

    it('round-trips 5,000 events written in one call', async () => {
      const all = Array.from({ length: 5000 }, (_, i) =>
        makeEvent('access.granted', { door: 1 + (i % 4), method: 'card', credential: 'a1b2c3d4e5f60718' }, { ts: T0 + i, device: `gate-${i % 10}` }),
      );
      await store.write(all);
      expect(await store.query({ limit: 10_000 })).toEqual(expected(all, { limit: 10_000 }));
    });

    it('pages through 250 events with limit 100, each exactly once and in order', async () => {
      const all = pagingSet();
      await store.write(all);
      const want = [...all].sort(compareNewestFirst);
      const got: RbEvent[] = [];
      const sizes: number[] = [];
      let before: EventPosition | undefined;
      for (let i = 0; i < 10; i += 1) {
        const page = await store.query({ limit: 100, before });
        sizes.push(page.length);
        if (page.length === 0) break;
        got.push(...page);
        const last = page[page.length - 1] as RbEvent;
        before = { ts: last.ts, seq: last.seq, id: last.id };
      }
      expect(sizes).toEqual([100, 100, 50, 0]);
      expect(got.map((e) => e.id)).toEqual(want.map((e) => e.id));
      expect(got).toEqual(want);
    });

    it('pages with filters, and `before` without an id is strictly older in (ts, seq)', async () => {
      const all = pagingSet();
      await store.write(all);
      const byDevice = [...all].filter((e) => e.device === 'gate-2').sort(compareNewestFirst);
      const got: RbEvent[] = [];
      let before: EventPosition | undefined;
      for (;;) {
        const page = await store.query({ device: 'gate-2', from: T0 + 3, limit: 7, before });
        if (page.length === 0) break;
        got.push(...page);
        const last = page[page.length - 1] as RbEvent;
        before = { ts: last.ts, seq: last.seq, id: last.id };
      }
      expect(got).toEqual(byDevice.filter((e) => e.ts >= T0 + 3));

      const sorted = [...all].sort(compareNewestFirst);
      for (const pivot of [sorted[0], sorted[17], sorted[75], sorted[249]] as RbEvent[]) {
        const want = sorted.filter((e) => e.ts < pivot.ts || (e.ts === pivot.ts && e.seq < pivot.seq)).slice(0, 20);
        expect(await store.query({ limit: 20, before: { ts: pivot.ts, seq: pivot.seq } })).toEqual(want);
      }
    });

    it('counts events per interval and type, identically in every store', async () => {
      const all = countSet();
      await store.write(all);
      const from = Date.UTC(2024, 4, 1, 0, 0, 0);
      // Literal answer for one query, so every store is held to the same numbers.
      expect(await store.counts({ from, to: from + 3 * 3_600_000, interval: '1h' })).toEqual([
        { start: from, type: 'door.forced', count: 3 },
        { start: from, type: 'door.held', count: 2 },
        { start: from, type: 'door.opened', count: 8 },
        { start: from + 3_600_000, type: 'door.forced', count: 1 },
        { start: from + 3_600_000, type: 'door.held', count: 1 },
        { start: from + 3_600_000, type: 'door.opened', count: 2 },
        { start: from + 7_200_000, type: 'door.opened', count: 1 },
      ]);
      const queries: CountQuery[] = [
        { from, to: from + 3 * 86_400_000, interval: '1m' },
        { from, to: from + 3 * 86_400_000, interval: '5m' },
        { from, to: from + 3 * 86_400_000, interval: '1h' },
        { from, to: from + 3 * 86_400_000, interval: '1d' },
        { from: from + 1, to: from + 3_600_000, interval: '5m' }, // from inside a bucket; to exclusive
        { from: from + 30_000, to: from + 86_400_000, interval: '1h', type: 'door.opened' },
        { from, to: from + 3 * 86_400_000, interval: '1d', estate: 'estate-b' },
        { from, to: from + 3 * 86_400_000, interval: '1h', device: 'gate-1' },
        { from, to: from + 3 * 86_400_000, interval: '1h', estate: "estate-a' OR 1=1 --" },
        { from: from + 10 * 86_400_000, to: from + 11 * 86_400_000, interval: '1d' },
      ];
      for (const q of queries) expect(await store.counts(q), JSON.stringify(q)).toEqual(expectedCounts(all, q));
    });

    it('keeps unicode, quotes, backslashes and control characters in data intact', async () => {
      const all = AWKWARD_TEXT.map((vendor, i) => makeEvent('door.forced', { door: 1, source: { vendor } }, { ts: T0 + i }));
      await store.write(all);
      expect(await store.query({ limit: 10 })).toEqual(expected(all, { limit: 10 }));
    });
  });
}
