import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertAction, RaiseAction } from '../../../hub/alerts/rules.js';
import { ALARM_RULES, autoResolves, resolveSettings, STATE_RULES } from '../../../hub/alerts/settings.js';
import { openAlertStore, type AlertStore } from '../../../hub/alerts/store.js';
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

describe('store: the condition-cleared stamp, repeats, notifications', () => {
  let dir: string;
  let store: AlertStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rb-signoff-'));
    store = openAlertStore(dir);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const raise = (over: Partial<RaiseAction> = {}): RaiseAction => ({
    type: 'raise', rule: 'door.forced', estate: E, gateway: GW, device: 'gate-1', key: 'door:1', severity: 3, at: DAY,
    eventId: ev('door.forced', { door: 1 }).id, data: { door: 1 }, ...over,
  });
  const clear = (at: number, eventId: string, resolve = false): Extract<AlertAction, { type: 'clear' }> => ({
    type: 'clear', resolve, rule: 'door.forced', estate: E, gateway: GW, device: 'gate-1', key: 'door:1', at, eventId,
  });

  it('stamps once, keeps the alert open, and a repeat removes the stamp', () => {
    const { id } = store.raise(raise()).alert;
    expect(store.clear(clear(DAY + 10 * S, 'E-close-1'))).toMatchObject({ changed: true, alert: { id, state: 'open', conditionClearedAt: DAY + 10 * S, conditionClearedEvent: 'E-close-1' } });
    // A second clear without the condition coming back changes nothing: the first close time stays.
    expect(store.clear(clear(DAY + 20 * S, 'E-close-2'))).toMatchObject({ changed: false, alert: { conditionClearedAt: DAY + 10 * S } });
    const again = store.raise(raise({ at: DAY + 30 * S }));
    expect(again).toMatchObject({ created: false, changed: true, alert: { id, count: 2 } });
    expect(again.alert.conditionClearedAt).toBeUndefined();
    expect(again.alert.conditionClearedEvent).toBeUndefined();
    expect(store.clear(clear(DAY + 40 * S, 'E-close-3'))!.alert.conditionClearedAt).toBe(DAY + 40 * S);
    expect(store.get(id)!.transitions.map((t) => t.to)).toEqual(['open']);
    expect(store.get(id)!.activity).toEqual([
      { kind: 'condition-cleared', at: DAY + 10 * S, eventId: 'E-close-1' },
      { kind: 'repeat', at: DAY + 30 * S, count: 2, eventId: expect.any(String) },
      { kind: 'condition-cleared', at: DAY + 40 * S, eventId: 'E-close-3' },
    ]);
    // Resolving keeps the stamp: the history says when the door closed and who signed it off.
    expect(store.resolve(id, 'user:v1', '门锁已修', DAY + 50 * S).alert).toMatchObject({ state: 'resolved', conditionClearedAt: DAY + 40 * S });
  });

  it('acknowledged alarms are stamped too; resolve: true still resolves by system', () => {
    const { id } = store.raise(raise()).alert;
    store.acknowledge(id, 'user:v1', undefined, DAY + S);
    expect(store.clear(clear(DAY + 2 * S, 'E1'))!.alert).toMatchObject({ state: 'acknowledged', conditionClearedAt: DAY + 2 * S });
    expect(store.clear(clear(DAY + 3 * S, 'E2', true))!.alert).toMatchObject({ state: 'resolved', resolvedBy: 'system', resolution: 'cleared' });
  });

  it('records who was notified at which level, and keeps only the latest 20 repeats', () => {
    const { id } = store.raise(raise()).alert;
    store.notified(id, { at: DAY, level: 0, reason: 'new', actors: ['user:a', 'user:b'] });
    store.escalate(id, 1, DAY + 60 * S);
    store.notified(id, { at: DAY + 60 * S, level: 1, reason: 'escalated', actors: ['user:c'] });
    expect(() => store.notified(id, { at: DAY, level: 0, reason: 'new', actors: ['bad actor'] })).toThrow(/actor/);
    for (let i = 0; i < 30; i++) store.raise(raise({ at: DAY + (100 + i) * S }));
    const activity = store.get(id)!.activity;
    expect(activity.filter((a) => a.kind === 'notified')).toEqual([
      { kind: 'notified', at: DAY, actor: 'user:a', level: 0, reason: 'new' },
      { kind: 'notified', at: DAY, actor: 'user:b', level: 0, reason: 'new' },
      { kind: 'notified', at: DAY + 60 * S, actor: 'user:c', level: 1, reason: 'escalated' },
    ]);
    const repeats = activity.filter((a) => a.kind === 'repeat') as Array<{ count: number }>;
    expect(repeats).toHaveLength(20);
    expect(repeats.map((r) => r.count)).toEqual(Array.from({ length: 20 }, (_, i) => i + 12));
    expect(store.get(id)!.count).toBe(31);
  });

  it('migrates an alerts.db of schema 1 in place, keeping its alerts', () => {
    store.close();
    rmSync(join(dir, 'alerts.db'));
    const db = new Database(join(dir, 'alerts.db'));
    // Schema 1 exactly as it shipped: the first migration only.
    db.exec(`CREATE TABLE alerts (id TEXT PRIMARY KEY, estate TEXT NOT NULL, gateway TEXT NOT NULL, device TEXT NOT NULL, rule TEXT NOT NULL, key TEXT NOT NULL,
      severity INTEGER NOT NULL, state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'escalated', 'resolved')), count INTEGER NOT NULL,
      opened_at INTEGER NOT NULL, last_at INTEGER NOT NULL, ack_at INTEGER, ack_by TEXT, resolved_at INTEGER, resolved_by TEXT, resolution TEXT,
      level INTEGER NOT NULL DEFAULT 0, notified_at INTEGER, assignee TEXT, data TEXT NOT NULL);
      CREATE UNIQUE INDEX alerts_dedup ON alerts(estate, device, rule, key) WHERE state <> 'resolved';
      CREATE TABLE alert_transitions (alert TEXT NOT NULL REFERENCES alerts(id), at INTEGER NOT NULL, actor TEXT NOT NULL, "from" TEXT, "to" TEXT NOT NULL, note TEXT);
      CREATE TABLE alert_events (alert TEXT NOT NULL REFERENCES alerts(id), event_id TEXT NOT NULL, at INTEGER NOT NULL, snapshots TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (alert, event_id));
      CREATE TABLE alert_comments (id INTEGER PRIMARY KEY AUTOINCREMENT, alert TEXT NOT NULL REFERENCES alerts(id), at INTEGER NOT NULL, actor TEXT NOT NULL, text TEXT NOT NULL);
      CREATE TABLE pending_snapshots (event_id TEXT NOT NULL, sha256 TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (event_id, sha256));
      CREATE TABLE estate_settings (estate TEXT PRIMARY KEY, json TEXT NOT NULL, updated_at INTEGER NOT NULL);
      INSERT INTO alerts (id, estate, gateway, device, rule, key, severity, state, count, opened_at, last_at, data)
        VALUES ('01KA0000000000000000000000', '${E}', '${GW}', 'gate-1', 'door.forced', 'door:1', 3, 'open', 1, ${DAY}, ${DAY}, '{}');
      PRAGMA user_version = 1;`);
    db.close();
    store = openAlertStore(dir);
    expect(store.clear(clear(DAY + S, 'E1'))!.alert).toMatchObject({ id: '01KA0000000000000000000000', state: 'open', conditionClearedAt: DAY + S });
    expect(store.get('01KA0000000000000000000000')!.activity).toHaveLength(1);
  });
});
