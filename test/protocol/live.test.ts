import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Push } from '../../hub/push/push.js';
import type { Alert } from '../../protocol/api.js';
import { PUSH_EVENTS, type LivePayloads, type PushEvent, type ServerToClient } from '../../protocol/live.js';

describe('the live contract (protocol/live.ts)', () => {
  it('lists every sequenced event once, and the map names exactly those', () => {
    expect(new Set(PUSH_EVENTS).size).toBe(PUSH_EVENTS.length);
    expectTypeOf<(typeof PUSH_EVENTS)[number]>().toEqualTypeOf<PushEvent>();
    expectTypeOf<keyof ServerToClient>().toEqualTypeOf<PushEvent | 'resync' | 'session:expired' | 'session:revoked'>();
  });

  it('types what the hub pushes by event name', () => {
    expectTypeOf<LivePayloads['alert:new']>().toEqualTypeOf<Alert>();
    expectTypeOf<Parameters<Push['toEstate']>>().toMatchTypeOf<[string, PushEvent, unknown, number?]>();
    // A payload of the wrong shape for its event does not compile.
    const typed = (p: Pick<Push, 'toEstate'>) => {
      // @ts-expect-error a handover is not an alert
      p.toEstate('e1', 'alert:new', { id: 'h', estate: 'e1', from: 'user:u', fromName: 'u', note: '', at: 0, to: [] });
    };
    expect(typed).toBeTypeOf('function');
  });
});
