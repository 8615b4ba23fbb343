import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../../../hub/store/influx-line.js';
import type { RbEvent } from '../../../protocol/index.js';

const event = (over: Record<string, unknown> = {}): RbEvent =>
  ({ v: 1, id: '01J0000000000000000000000A', seq: 7, ts: 1_700_000_000_123, estate: 'e1', gateway: 'gw-1', device: 'gate-1', type: 'access.granted', data: { door: 1 }, ...over }) as unknown as RbEvent;

/** The series part of a line is checked and escaped once per series (a cache): it must never let an unsafe value through. */
describe('encodeEvent series cache', () => {
  it('encodes a series the same the first time and from the cache', () => {
    const a = encodeEvent(event(), 5);
    const b = encodeEvent(event({ id: '01J0000000000000000000000B', seq: 8 }), 5);
    expect(a).toEqual({ ok: true, line: 'events,estate=e1,gateway=gw-1,device=gate-1,type=access.granted id="01J0000000000000000000000A",seq=7i,data="{\\"door\\":1}",received_at=5i 1700000000123000007' });
    expect(b.ok && b.line.startsWith('events,estate=e1,gateway=gw-1,device=gate-1,type=access.granted id="01J0000000000000000000000B",seq=8i')).toBe(true);
    expect(encodeEvent(event({ type: 'a b,c=d' }), 5)).toMatchObject({ ok: true, line: expect.stringContaining(',type=a\\ b\\,c\\=d id=') });
  });

  it('refuses an unsafe or non-string tag value even when a series that looks alike is cached', () => {
    expect(encodeEvent(event({ estate: 'x', gateway: 'y' }), 5).ok).toBe(true);
    // The NUL-joined key of these holds more NULs than a valid tuple's: never the cached one.
    expect(encodeEvent(event({ estate: 'x\u0000y', gateway: '' }), 5)).toMatchObject({ ok: false, reason: expect.stringContaining('unsafe tag estate') });
    expect(encodeEvent(event({ estate: 'x', gateway: 'y\n' }), 5)).toMatchObject({ ok: false, reason: expect.stringContaining('unsafe tag gateway') });
    expect(encodeEvent(event({ device: '7' }), 5).ok).toBe(true);
    expect(encodeEvent(event({ device: 7 }), 5)).toMatchObject({ ok: false, reason: 'unsafe tag device=7' });
  });
});
