import { describe, expect, it } from 'vitest';
import { createRuleMemory, evaluate, MEMORY_LIMITS } from '../../../hub/alerts/rules.js';
import { resolveSettings } from '../../../hub/alerts/settings.js';
import { DAY, Engine, ev } from './fixtures.js';

const S = 1000;

/**
 * A gate reports opened, closed, forced (the door left open). After a link cut the gateway replays
 * its alarm lane first, so the hub gets forced before the older closed. Device time is one whole
 * second for all three, as cheap controllers report it: only the gateway's seq orders them.
 */
const trio = () => ({
  opened: ev('door.opened', { door: 1 }, { seq: 101, ts: DAY }),
  closed: ev('door.closed', { door: 1 }, { seq: 102, ts: DAY }),
  forced: ev('door.forced', { door: 1 }, { seq: 103, ts: DAY }),
});

describe('door rules judge events in the gateway order (seq), not arrival', () => {
  it('delivered in order: forced raises after the close, and the next (newer) close stamps it, as before', () => {
    const en = new Engine();
    const t = trio();
    for (const e of [t.opened, t.closed, t.forced]) en.event(e, DAY + S);
    expect(en.raises('door.forced')).toMatchObject([{ eventId: t.forced.id }]);
    expect(en.clears()).toEqual([]);
    const later = ev('door.closed', { door: 1 }, { seq: 104, ts: DAY + 5 * S });
    expect(en.event(later, DAY + 5 * S)).toMatchObject([{ type: 'clear', resolve: false, rule: 'door.forced', eventId: later.id }]);
  });

  it('delivered as opened, forced, closed: the older close neither stamps nor clears the forced alert', () => {
    const en = new Engine({ clearAfterS: 0 });
    const t = trio();
    en.event(t.opened, DAY + S);
    en.event(t.forced, DAY + S);
    expect(en.event(t.closed, DAY + S)).toEqual([]);
    expect(en.runUntil(DAY + 3600 * S)).toEqual([]);
    expect(en.clears()).toEqual([]);
    expect(Object.keys(en.memory.estates['maple-court']!.active)).toEqual(['door.forced|gate-1|door:1']);
    // The door is open: a newer close still stamps it.
    expect(en.event(ev('door.closed', { door: 1 }, { seq: 104, ts: DAY }), DAY + 3601 * S)).toMatchObject([{ type: 'clear', rule: 'door.forced' }]);
  });

  it('delivered as the outbox replays them (forced, opened, closed): no stamp and no held timer from the older open', () => {
    const en = new Engine();
    const t = trio();
    for (const e of [t.forced, t.opened, t.closed]) en.event(e, DAY + S);
    expect(en.clears()).toEqual([]);
    expect(en.runUntil(DAY + 3600 * S)).toEqual([]); // the older open started no door.held timer
    expect(en.raises()).toMatchObject([{ rule: 'door.forced' }]);
  });

  it('an older alarm arriving after a newer close is still raised, and stamped at once: the door is closed', () => {
    const en = new Engine();
    en.event(ev('door.closed', { door: 1 }, { seq: 204, ts: DAY }), DAY);
    const forced = ev('door.forced', { door: 1 }, { seq: 203, ts: DAY });
    expect(en.event(forced, DAY + S)).toMatchObject([
      { type: 'raise', rule: 'door.forced', eventId: forced.id },
      { type: 'clear', resolve: false, rule: 'door.forced' },
    ]);
  });

  it('another door of the same controller is not held back by this door\'s mark', () => {
    const en = new Engine();
    en.event(ev('door.forced', { door: 1 }, { seq: 300, ts: DAY }), DAY);
    en.event(ev('door.forced', { door: 2 }, { seq: 301, ts: DAY }), DAY);
    expect(en.event(ev('door.closed', { door: 2 }, { seq: 299, ts: DAY }), DAY)).toEqual([]);
    expect(en.event(ev('door.closed', { door: 2 }, { seq: 302, ts: DAY }), DAY)).toMatchObject([{ type: 'clear', key: 'door:2' }]);
    expect(en.event(ev('door.closed', { door: 1 }, { seq: 303, ts: DAY }), DAY)).toMatchObject([{ type: 'clear', key: 'door:1' }]);
  });

  it('a gateway whose seq started again (data dir wiped) is a new epoch once device time is well past the mark', () => {
    const en = new Engine();
    en.event(ev('door.forced', { door: 1 }, { seq: 90_000, ts: DAY }), DAY);
    expect(en.event(ev('door.closed', { door: 1 }, { seq: 2, ts: DAY + 60 * S }), DAY + 60 * S)).toEqual([]);
    expect(en.event(ev('door.closed', { door: 1 }, { seq: 3, ts: DAY + 3600 * S }), DAY + 3600 * S)).toMatchObject([{ type: 'clear', rule: 'door.forced' }]);
  });

  it('another gateway (the device moved) has its own counter: its close applies', () => {
    const en = new Engine();
    en.event(ev('door.forced', { door: 1 }, { seq: 500, ts: DAY }), DAY);
    expect(en.event(ev('door.closed', { door: 1 }, { seq: 1, ts: DAY, gateway: 'gw-2' }), DAY)).toMatchObject([{ type: 'clear', rule: 'door.forced' }]);
  });

  it('the marks are bounded per estate', () => {
    let mem = createRuleMemory();
    const of = () => resolveSettings({});
    const n = MEMORY_LIMITS.order + 50;
    for (let i = 0; i < n; i++) {
      mem = evaluate(mem, { kind: 'event', event: ev('door.closed', { door: 1 + (i % 64) }, { device: `gate-${Math.floor(i / 64)}` }) }, DAY + i, of).memory;
    }
    expect(Object.keys(mem.estates['maple-court']!.order)).toHaveLength(MEMORY_LIMITS.order);
  });
});
