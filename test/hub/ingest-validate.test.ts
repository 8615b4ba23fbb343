import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EVENT_TYPES, EnvelopeBase, TS_MAX, TS_MIN, isEnvelopeFast, validateEvent, type EventType, type Validation } from '../../protocol/index.js';

/**
 * The ingest hot path validates the envelope by hand (isEnvelopeFast) and `data` with the zod schema
 * of its type only. zod stays the authority: the fast check may never accept what EnvelopeBase
 * refuses, and validateEvent must answer exactly as the zod-only path did, refusals worded by zod.
 */

/** validateEvent as it was before the fast path: EnvelopeBase, then the data schema of the type. */
function zodOnly(value: unknown): Validation {
  const issues = (e: z.ZodError): string => e.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
  const base = EnvelopeBase.safeParse(value);
  if (!base.success) return { ok: false, reason: 'schema', message: issues(base.error) };
  if (!Object.hasOwn(EVENT_TYPES, base.data.type)) return { ok: false, reason: 'unknown-type', message: `unknown event type ${JSON.stringify(base.data.type)}` };
  const data = EVENT_TYPES[base.data.type as EventType].data.safeParse(base.data.data);
  if (!data.success) return { ok: false, reason: 'schema', message: `data of ${base.data.type}: ${issues(data.error)}` };
  return { ok: true, event: { ...base.data, data: data.data } as never };
}

const good = (): Record<string, unknown> => ({
  v: 1, id: ulid(), seq: 7, ts: Date.UTC(2024, 4, 1), estate: 'maple-court', gateway: 'gw-1', device: 'gate-east',
  type: 'access.granted', data: { door: 1, reader: 2, method: 'card', credential: 'a1b2c3d4e5f60718' },
});

/** Values that probe each rule of the envelope: wrong types, bounds, patterns, edge numbers. */
const PROBES: unknown[] = [
  undefined, null, true, 0, -0, 1, -1, 1.5, 2, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1,
  TS_MIN, TS_MIN - 1, TS_MAX, TS_MAX + 1, TS_MIN + 0.5, '', 'a', 'A', 'a b', 'a/b', 'a'.repeat(64), 'a'.repeat(65), 'x'.repeat(65),
  '01ARZ3NDEKTSV4RRFFQ69G5FAV', '81ARZ3NDEKTSV4RRFFQ69G5FAV', '01arz3ndektsv4rrffq69g5fav', '01ARZ3NDEKTSV4RRFFQ69G5FAVX', 'door.forced',
  'access.granted', '__proto__', 'toString', [], [1], {}, { door: 1 }, Object.create(null), new Date(0), new Map(), '1', 1n,
];

describe('fast event validation (ingest hot path)', () => {
  it('accepts the common event and answers exactly as the zod-only path', () => {
    const e = good();
    expect(isEnvelopeFast(e)).toBe(true);
    expect(validateEvent(e)).toEqual(zodOnly(e));
    expect(validateEvent(e).ok).toBe(true);
  });

  it('never accepts what EnvelopeBase refuses, and validateEvent matches zod on every mutation of every field', () => {
    let fastTrue = 0;
    const check = (value: unknown): void => {
      if (isEnvelopeFast(value)) {
        fastTrue++;
        expect(EnvelopeBase.safeParse(value).success, JSON.stringify(value)).toBe(true);
      }
      expect(validateEvent(value)).toEqual(zodOnly(value));
    };
    for (const key of Object.keys(good())) {
      for (const probe of PROBES) check({ ...good(), [key]: probe });
      const without = good();
      delete without[key];
      check(without);
    }
    check({ ...good(), extra: 1 });
    check(JSON.parse(`{"__proto__": {"v": 1}, ${JSON.stringify(good()).slice(1)}`));
    check(Object.assign(Object.create(null), good()));
    check(Object.assign(Object.create({ inherited: 1 }), good()));
    for (const probe of PROBES) check(probe);
    // data of every type, valid and not: the type's zod schema decides, worded the same.
    for (const type of Object.keys(EVENT_TYPES)) {
      for (const data of [{}, { door: 1 }, { door: 0 }, { door: 1, extra: true }, { lane: 1, list: 'allow' }, { state: true }, { reason: 'x' }]) {
        check({ ...good(), type, data });
      }
    }
    expect(fastTrue).toBeGreaterThan(20); // the fast path did run
  });
});
