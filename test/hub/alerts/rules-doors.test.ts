import { describe, expect, it } from 'vitest';
import { evaluate, createRuleMemory, MEMORY_LIMITS, seedActive, type RaiseAction } from '../../../hub/alerts/rules.js';
import { resolveSettings } from '../../../hub/alerts/settings.js';
import { DAY, E, Engine, ev, GW, sh } from './fixtures.js';

const S = 1000;

describe('door.forced', () => {
  it('raises severity 3 by day with the door in the key and the event linked', () => {
    const en = new Engine();
    const e = ev('door.forced', { door: 2 });
    const [a] = en.event(e) as RaiseAction[];
    expect(a).toMatchObject({ type: 'raise', rule: 'door.forced', estate: E, gateway: GW, device: 'gate-1', key: 'door:2', severity: 3, at: DAY, eventId: e.id });
    expect(a!.data).toMatchObject({ type: 'door.forced', door: 2, night: false });
  });

  it.each([
    ['21:59', sh(2026, 3, 10, 21, 59), 3],
    ['22:00', sh(2026, 3, 10, 22, 0), 4],
    ['23:59', sh(2026, 3, 10, 23, 59), 4],
    ['00:00 next day', sh(2026, 3, 11, 0, 0), 4],
    ['05:59', sh(2026, 3, 11, 5, 59), 4],
    ['06:00', sh(2026, 3, 11, 6, 0), 3],
  ])('at %s Shanghai time has severity %i', (_label, at, severity) => {
    const en = new Engine();
    expect(en.event(ev('door.forced', { door: 1 }, { ts: at }), at)).toMatchObject([{ severity }]);
  });

  it('uses the settings time zone and night hours', () => {
    // 23:30 in Shanghai is 16:30 in London: not night there.
    const at = sh(2026, 3, 10, 23, 30);
    expect(new Engine({ timeZone: 'Europe/London' }).event(ev('door.forced', { door: 1 }), at)).toMatchObject([{ severity: 3 }]);
    const late = new Engine({ nightHours: { from: '00:00', to: '01:00' }, rules: { 'door.forced': { nightSeverity: 4, severity: 2 } } });
    expect(late.event(ev('door.forced', { door: 1 }), at)).toMatchObject([{ severity: 2 }]);
    expect(late.event(ev('door.forced', { door: 1 }), sh(2026, 3, 11, 0, 30))).toMatchObject([{ severity: 4 }]);
  });

  it('is an alarm: when that door closes the alert is stamped at once (resolve false), never resolved by the engine', () => {
    const en = new Engine();
    en.event(ev('door.forced', { door: 1 }));
    const closed = ev('door.closed', { door: 2 });
    expect(en.event(closed, DAY + 1 * S)).toEqual([]); // another door: nothing
    const close1 = ev('door.closed', { door: 1 });
    expect(en.event(close1, DAY + 2 * S)).toEqual([
      { type: 'clear', resolve: false, rule: 'door.forced', estate: E, gateway: GW, device: 'gate-1', key: 'door:1', at: DAY + 2 * S, eventId: close1.id },
    ]);
    // No hold-off timer: nothing more comes, however long the door stays closed.
    expect(en.wakeAt).toBeNull();
    expect(en.runUntil(DAY + 3600 * S)).toEqual([]);
    expect(en.event(ev('door.closed', { door: 1 }), DAY + 3601 * S)).toEqual([]);
  });

  it('stays an alarm whatever autoResolve and clearAfterS say (the settings refuse true for it)', () => {
    const en = new Engine({ clearAfterS: 0 });
    en.event(ev('door.forced', { door: 1 }));
    expect(en.event(ev('door.closed', { door: 1 }), DAY + S)).toMatchObject([{ type: 'clear', resolve: false, rule: 'door.forced', key: 'door:1' }]);
    expect(() => resolveSettings({ autoResolve: { 'door.forced': true } })).toThrow(/autoResolve\.door\.forced/);
  });

  it('a flapping door (forced/closed 20 times a minute) repeats one key: each close stamps, each forced is a repeat', () => {
    const en = new Engine();
    for (let i = 0; i < 20; i++) {
      en.event(ev('door.forced', { door: 1 }, { ts: DAY + i * 3 * S }), DAY + i * 3 * S);
      en.event(ev('door.closed', { door: 1 }, { ts: DAY + i * 3 * S + 1500 }), DAY + i * 3 * S + 1500);
    }
    const raises = en.raises('door.forced');
    expect(raises).toHaveLength(20);
    expect(new Set(raises.map((r) => `${r.device}|${r.key}`))).toEqual(new Set(['gate-1|door:1']));
    expect(en.clears().map((c) => [c.at, (c as { resolve: boolean }).resolve])).toEqual(Array.from({ length: 20 }, (_, i) => [DAY + i * 3 * S + 1500, false]));
    expect(en.runUntil(DAY + 600 * S)).toEqual([]);
  });
});

describe('door.held', () => {
  it('raises on the device event and clears on door.closed', () => {
    const en = new Engine();
    const held = ev('door.held', { door: 1, heldS: 60 });
    expect(en.event(held)).toMatchObject([{ rule: 'door.held', key: 'door:1', severity: 2, eventId: held.id, data: { heldS: 60 } }]);
    en.event(ev('door.closed', { door: 1 }), DAY + 5 * S);
    expect(en.runUntil(DAY + 35 * S)).toMatchObject([{ type: 'clear', rule: 'door.held', key: 'door:1' }]);
  });

  it('raises when a door stays open longer than heldS (120 s by default)', () => {
    const en = new Engine();
    const opened = ev('door.opened', { door: 3 });
    expect(en.event(opened)).toEqual([]);
    expect(en.wakeAt).toBe(DAY + 120 * S);
    expect(en.runUntil(DAY + 119 * S)).toEqual([]);
    expect(en.runUntil(DAY + 120 * S)).toMatchObject([
      { type: 'raise', rule: 'door.held', key: 'door:3', severity: 2, at: DAY + 120 * S, eventId: opened.id, data: { heldS: 120, timer: true } },
    ]);
    expect(en.wakeAt).toBeNull(); // raised once, not again
    en.event(ev('door.opened', { door: 3 }), DAY + 200 * S); // a repeat of the open state restarts nothing
    expect(en.runUntil(DAY + 400 * S)).toEqual([]);
    en.event(ev('door.closed', { door: 3 }), DAY + 400 * S);
    expect(en.runUntil(DAY + 430 * S)).toMatchObject([{ type: 'clear', rule: 'door.held', key: 'door:3' }]);
  });

  it('does not raise for a door closed in time, and honours a configured heldS', () => {
    const en = new Engine({ rules: { 'door.held': { heldS: 30 } } });
    en.event(ev('door.opened', { door: 1 }));
    en.event(ev('door.closed', { door: 1 }), DAY + 29 * S);
    expect(en.wakeAt).toBeNull();
    en.event(ev('door.opened', { door: 1 }), DAY + 40 * S);
    expect(en.runUntil(DAY + 70 * S)).toMatchObject([{ rule: 'door.held', data: { heldS: 30 } }]);
  });

  it('a device door.held before the timer stops the timer from raising a second time', () => {
    const en = new Engine();
    en.event(ev('door.opened', { door: 1 }));
    en.event(ev('door.held', { door: 1 }), DAY + 60 * S);
    expect(en.wakeAt).toBeNull();
    expect(en.raises('door.held')).toHaveLength(1);
  });

  it('a forced door does not also start the held timer', () => {
    const en = new Engine();
    en.event(ev('door.forced', { door: 1 }));
    en.runUntil(DAY + 3600 * S);
    expect(en.raises()).toHaveLength(1);
  });
});

describe('access.denied.burst', () => {
  const denied = (ts: number, device = 'gate-1') => ev('access.denied', { door: 1, method: 'card', reason: 'unknown-credential', credential: 'ab'.repeat(8) }, { ts, device });

  it('raises on the 5th denied access at one device within 2 minutes (device time), never clears', () => {
    const en = new Engine();
    for (let i = 0; i < 4; i++) en.event(denied(DAY + i * 20 * S));
    en.event(denied(DAY + 30 * S, 'gate-2'));
    expect(en.raises()).toEqual([]);
    const fifth = denied(DAY + 100 * S);
    expect(en.event(fifth)).toMatchObject([{ rule: 'access.denied.burst', device: 'gate-1', key: '', severity: 2, eventId: fifth.id, data: { count: 5, windowS: 120 } }]);
    en.runUntil(DAY + 86_400 * S);
    expect(en.clears()).toEqual([]);
  });

  it('does not count accesses that fell out of the window; counts again after a burst', () => {
    const en = new Engine();
    for (let i = 0; i < 10; i++) en.event(denied(DAY + i * 40 * S)); // 40 s apart: at most 3 within 120 s
    expect(en.raises()).toEqual([]);
    const en2 = new Engine();
    for (let i = 0; i < 10; i++) en2.event(denied(DAY + i * S));
    expect(en2.raises('access.denied.burst')).toHaveLength(2);
  });

  it('honours a configured count and window', () => {
    const en = new Engine({ rules: { 'access.denied.burst': { count: 3, windowS: 10 } } });
    en.event(denied(DAY));
    en.event(denied(DAY + 5 * S));
    en.event(denied(DAY + 11 * S)); // the first fell out of the window
    expect(en.raises()).toEqual([]);
    en.event(denied(DAY + 12 * S));
    expect(en.raises()).toHaveLength(1);
  });

  it('a replayed backlog spread over hours is not a burst', () => {
    const en = new Engine();
    for (let i = 0; i < 6; i++) en.event(denied(DAY + i * 3600 * S), DAY + 10 * 3600 * S + i);
    expect(en.raises()).toEqual([]);
  });
});

describe('maintenance windows', () => {
  const window = { device: 'gate-1', from: DAY, to: DAY + 3600 * S };

  it('suppress raises for that device only, and only inside the window', () => {
    const en = new Engine({ maintenance: [window] });
    expect(en.event(ev('door.forced', { door: 1 }), DAY + 10 * S)).toEqual([]);
    expect(en.event(ev('door.forced', { door: 1 }, { device: 'gate-2' }), DAY + 10 * S)).toHaveLength(1);
    expect(en.event(ev('door.forced', { door: 1 }), DAY - S)).toHaveLength(1);
    expect(new Engine({ maintenance: [window] }).event(ev('door.forced', { door: 1 }), DAY + 3600 * S)).toHaveLength(1);
  });

  it('hold a timer that falls due inside the window until the window ends', () => {
    const en = new Engine({ maintenance: [window] });
    en.event(ev('door.opened', { door: 1 }), DAY + 3000 * S);
    expect(en.runUntil(DAY + 3599 * S)).toEqual([]);
    expect(en.wakeAt).toBe(DAY + 3600 * S);
    expect(en.runUntil(DAY + 3600 * S)).toMatchObject([{ rule: 'door.held', key: 'door:1' }]);
  });
});

describe('disabled rules and severities', () => {
  it('a disabled rule raises nothing and keeps no timer; a configured severity is used', () => {
    const en = new Engine({ rules: { 'door.forced': { enabled: false }, 'door.held': { enabled: false }, 'barrier.fault': { severity: 4 } } });
    expect(en.event(ev('door.forced', { door: 1 }))).toEqual([]);
    en.event(ev('door.opened', { door: 2 }));
    expect(en.wakeAt).toBeNull();
    expect(en.event(ev('barrier.fault', { reason: 'motor' }, { device: 'barrier-1' }))).toMatchObject([{ severity: 4 }]);
  });
});

describe('memory', () => {
  const settings = resolveSettings({});
  const of = () => settings;

  it('is not modified by evaluate and survives a JSON round trip', () => {
    let mem = evaluate(createRuleMemory(), { kind: 'event', event: ev('door.opened', { door: 1 }) }, DAY, of).memory;
    const before = JSON.stringify(mem);
    const r1 = evaluate(mem, { kind: 'tick' }, DAY + 120 * S, of);
    expect(JSON.stringify(mem)).toBe(before);
    mem = JSON.parse(before);
    const r2 = evaluate(mem, { kind: 'tick' }, DAY + 120 * S, of);
    expect(r2.actions).toEqual(r1.actions);
    expect(r2.memory).toEqual(r1.memory);
  });

  it('is bounded per estate: the oldest entries go first', () => {
    let mem = createRuleMemory();
    const n = MEMORY_LIMITS.doors + 100;
    for (let i = 0; i < n; i++) {
      mem = evaluate(mem, { kind: 'event', event: ev('door.opened', { door: 1 + (i % 64) }, { device: `gate-${Math.floor(i / 64)}` }) }, DAY + i, of).memory;
    }
    const doors = Object.keys(mem.estates[E]!.doors);
    expect(doors).toHaveLength(MEMORY_LIMITS.doors);
    expect(doors).not.toContain('gate-0/1');
    expect(doors).toContain(`gate-${Math.floor((n - 1) / 64)}/${1 + ((n - 1) % 64)}`);
  });

  it('seedActive lets a restarted engine clear an alert opened before the restart', () => {
    const mem = seedActive(createRuleMemory(), [{ estate: E, gateway: GW, device: 'gate-1', rule: 'door.forced', key: 'door:1', openedAt: DAY - 3600 * S }]);
    const r = evaluate(mem, { kind: 'event', event: ev('door.closed', { door: 1 }) }, DAY, () => resolveSettings({ clearAfterS: 0 }));
    expect(r.actions).toMatchObject([{ type: 'clear', resolve: false, rule: 'door.forced', key: 'door:1' }]);
    // One already stamped before the restart is not seeded: its condition is clear already.
    const stamped = seedActive(createRuleMemory(), [{ estate: E, gateway: GW, device: 'gate-1', rule: 'door.forced', key: 'door:1', openedAt: DAY - 3600 * S, conditionClearedAt: DAY - 60 * S }]);
    expect(evaluate(stamped, { kind: 'event', event: ev('door.closed', { door: 1 }) }, DAY, () => resolveSettings({})).actions).toEqual([]);
  });

  it('wakeAt is the earliest timer over every estate', () => {
    let mem = createRuleMemory();
    mem = evaluate(mem, { kind: 'event', event: ev('door.opened', { door: 1 }) }, DAY, of).memory;
    const r = evaluate(mem, { kind: 'gateway', estate: 'oak-yard', gateway: 'gw-9', online: false }, DAY + 10 * S, of);
    expect(r.wakeAt).toBe(DAY + 100 * S); // gateway offline due at +90 s after DAY+10 s, before the door at +120 s
    expect(r.memory.estates['oak-yard']!.wakeAt).toBe(DAY + 100 * S);
    expect(r.memory.estates[E]!.wakeAt).toBe(DAY + 120 * S);
  });
});
