import { describe, expect, it } from 'vitest';
import { PullPacer } from '../../../devices/onvif-camera/pacing.js';

describe('PullPacer', () => {
  it('lets a held pull or one with messages go on at once', () => {
    const p = new PullPacer({ requestedMs: 10_000 });
    expect(p.record({ elapsedMs: 10_050, messages: 0 })).toEqual({ waitMs: 0 });
    expect(p.record({ elapsedMs: 3, messages: 2 })).toEqual({ waitMs: 0 });
    expect(p.early).toBe(0);
  });

  it('spaces early empty answers at least 1 s apart, doubling to the cap, and warns after three in a row', () => {
    const p = new PullPacer({ requestedMs: 10_000 });
    expect(p.record({ elapsedMs: 5, messages: 0 })).toEqual({ waitMs: 995 });
    expect(p.record({ elapsedMs: 5, messages: 0 })).toEqual({ waitMs: 1_995 });
    expect(p.record({ elapsedMs: 5, messages: 0 })).toEqual({ waitMs: 3_995, change: 'raised' });
    expect(p.misbehaving).toBe(true);
    expect(p.record({ elapsedMs: 5, messages: 0 })).toEqual({ waitMs: 7_995 });
    expect(p.record({ elapsedMs: 5, messages: 0 })).toEqual({ waitMs: 7_995 });
    expect(p.early).toBe(5);
    // Messages do not end the misbehaviour (the camera still does not hold), and are not delayed.
    expect(p.record({ elapsedMs: 5, messages: 1 })).toEqual({ waitMs: 0 });
    expect(p.misbehaving).toBe(true);
    // A pull the camera held ends it.
    expect(p.record({ elapsedMs: 9_990, messages: 0 })).toEqual({ waitMs: 0, change: 'cleared' });
    expect(p.misbehaving).toBe(false);
    expect(p.record({ elapsedMs: 5, messages: 0 })).toEqual({ waitMs: 995 });
  });

  it('a device that caps the hold lower than asked (1 s of 10) is not early; with a 1 s Timeout, 0.5 s is', () => {
    expect(new PullPacer({ requestedMs: 10_000 }).record({ elapsedMs: 1_000, messages: 0 })).toEqual({ waitMs: 0 });
    const short = new PullPacer({ requestedMs: 1_000 });
    expect(short.record({ elapsedMs: 600, messages: 0 })).toEqual({ waitMs: 0 });
    expect(short.record({ elapsedMs: 100, messages: 0 })).toEqual({ waitMs: 900 });
  });
});
