import { describe, expect, it } from 'vitest';
import { ALARM_RULES, autoResolves, resolveSettings, STATE_RULES } from '../../../hub/alerts/settings.js';
import { DAY, E, Engine, ev, GW } from './fixtures.js';

/**
 * Alarms are signed off by a person (docs/alerts.md): the rules stamp an alarm whose condition
 * cleared instead of resolving it, a state rule auto-resolves unless its estate switched that off,
 * and the store keeps the stamp until the condition comes back (a repeat) or a person resolves it.
 */

const S = 1000;

describe('settings: autoResolve', () => {
  it('defaults to true for every state rule and false for every alarm', () => {
    const s = resolveSettings({});
    for (const r of STATE_RULES) expect(autoResolves(s, r)).toBe(true);
    for (const r of ALARM_RULES) expect(autoResolves(s, r)).toBe(false);
    expect(s.autoResolve['door.held']).toBe(true);
    expect(s.autoResolve['door.forced']).toBe(false);
  });

  it('switches per state rule, refuses true for an alarm and names the key, refuses unknown rules', () => {
    expect(autoResolves(resolveSettings({ autoResolve: { 'door.held': false } }), 'door.held')).toBe(false);
    expect(() => resolveSettings({ autoResolve: { 'plate.blocklisted': true } })).toThrow(/autoResolve\.plate\.blocklisted: plate\.blocklisted is an alarm/);
    expect(() => resolveSettings({ autoResolve: { 'barrier.fault': true } })).toThrow(/autoResolve: Unrecognized key/);
    // An explicit false for an alarm is what it is anyway: accepted.
    expect(resolveSettings({ autoResolve: { 'door.forced': false } }).autoResolve['door.forced']).toBe(false);
  });
});

describe('rules: state rules resolve by themselves unless the estate says no', () => {
  it('door.held resolves after the hold-off by default', () => {
    const en = new Engine();
    en.event(ev('door.held', { door: 1, heldS: 130 }));
    expect(en.event(ev('door.closed', { door: 1 }), DAY + 5 * S)).toEqual([]);
    expect(en.runUntil(DAY + 35 * S)).toMatchObject([{ type: 'clear', resolve: true, rule: 'door.held', at: DAY + 35 * S }]);
  });

  it('door.held with autoResolve false is stamped at once when the door closes, and nothing resolves it', () => {
    const en = new Engine({ autoResolve: { 'door.held': false } });
    en.event(ev('door.held', { door: 1, heldS: 130 }));
    const close = ev('door.closed', { door: 1 });
    expect(en.event(close, DAY + 5 * S)).toEqual([
      { type: 'clear', resolve: false, rule: 'door.held', estate: E, gateway: GW, device: 'gate-1', key: 'door:1', at: DAY + 5 * S, eventId: close.id },
    ]);
    expect(en.runUntil(DAY + 3600 * S)).toEqual([]);
  });

  it('a hold-off that ends after the estate switched auto-resolve off stamps instead of resolving', () => {
    const en = new Engine();
    en.event(ev('door.held', { door: 1, heldS: 130 }));
    en.event(ev('door.closed', { door: 1 }), DAY + 5 * S);
    en.settings = resolveSettings({ autoResolve: { 'door.held': false } });
    expect(en.runUntil(DAY + 35 * S)).toMatchObject([{ type: 'clear', resolve: false, rule: 'door.held' }]);
  });

  it('gateway.offline with autoResolve false: back online stamps it; offline again past afterS is a repeat', () => {
    const en = new Engine({ autoResolve: { 'gateway.offline': false } });
    const gw = (online: boolean) => ({ kind: 'gateway', estate: E, gateway: GW, online }) as const;
    en.feed(gw(false), DAY);
    expect(en.runUntil(DAY + 90 * S)).toMatchObject([{ type: 'raise', rule: 'gateway.offline' }]);
    expect(en.feed(gw(true), DAY + 100 * S)).toMatchObject([{ type: 'clear', resolve: false, rule: 'gateway.offline', at: DAY + 100 * S }]);
    en.feed(gw(false), DAY + 200 * S);
    expect(en.runUntil(DAY + 290 * S)).toMatchObject([{ type: 'raise', rule: 'gateway.offline', device: GW }]);
  });
});

// The store's side (the stamp, repeats, notifications on the timeline) is in the alert store's contract,
// test/hub/platform/alerts.contract.ts, run on SQLite and PostgreSQL; the import of a schema-1 alerts.db
// in test/hub/platform/upgrade-alerts.test.ts.
