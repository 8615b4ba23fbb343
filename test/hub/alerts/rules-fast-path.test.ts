import { describe, expect, it } from 'vitest';
import { createRuleMemory, evaluate } from '../../../hub/alerts/rules.js';
import { resolveSettings } from '../../../hub/alerts/settings.js';
import { DAY, E, Engine, ev } from './fixtures.js';

const S = 1000;
const settings = resolveSettings({});

describe('evaluate fast path (events no rule reacts to)', () => {
  it('returns the same memory, no actions and the same wake, without calling for settings', () => {
    const en = new Engine();
    en.event(ev('door.opened', { door: 1 }));
    const before = en.memory;
    const wake = en.wakeAt;
    let asked = 0;
    const r = evaluate(before, { kind: 'event', event: ev('access.granted', { door: 1, method: 'card' }) }, DAY + S, () => {
      asked++;
      return settings;
    });
    expect(r.memory).toBe(before);
    expect(r.actions).toEqual([]);
    expect(r.wakeAt).toBe(wake);
    expect(asked).toBe(0);
  });

  it('adds no estate to the memory', () => {
    const m = createRuleMemory();
    const r = evaluate(m, { kind: 'event', event: ev('access.granted', { door: 1, method: 'card' }) }, DAY, () => settings);
    expect(r.memory).toBe(m);
    expect(r.wakeAt).toBeNull();
  });

  it('still runs the timers of its estate that are due', () => {
    const en = new Engine();
    en.event(ev('door.opened', { door: 1 }));
    const due = en.wakeAt!;
    // No tick was run: the held timer falls due and an unrelated event of the estate must fire it.
    const r = evaluate(en.memory, { kind: 'event', event: ev('access.granted', { door: 1, method: 'card' }) }, due + S, () => settings);
    expect(r.actions).toMatchObject([{ type: 'raise', rule: 'door.held', estate: E, key: 'door:1' }]);
    expect(r.memory).not.toBe(en.memory);
  });
});
