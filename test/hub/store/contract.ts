import { ulid } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventQuery, EventStore } from '../../../hub/store/types.js';
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

    it('keeps unicode, quotes, backslashes and control characters in data intact', async () => {
      const all = AWKWARD_TEXT.map((vendor, i) => makeEvent('door.forced', { door: 1, source: { vendor } }, { ts: T0 + i }));
      await store.write(all);
      expect(await store.query({ limit: 10 })).toEqual(expected(all, { limit: 10 }));
    });
  });
}
