import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RbError } from '../../../hub/errors.js';
import type { AlertAction, RaiseAction } from '../../../hub/alerts/rules.js';
import { ALERTS_SCHEMA_VERSION } from '../../../hub/alerts/store-schema.js';
import { openAlertStore, type AlertStore } from '../../../hub/alerts/store.js';
import { DAY, E, Engine, ev, GW } from './fixtures.js';

const S = 1000;
const SHA1 = '1'.repeat(64);
const SHA2 = '2'.repeat(64);
let dir: string;
let store: AlertStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rb-alerts-'));
  store = openAlertStore(dir);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const raise = (over: Partial<RaiseAction> = {}): RaiseAction => ({
  type: 'raise', rule: 'door.forced', estate: E, gateway: GW, device: 'gate-1', key: 'door:1', severity: 3, at: DAY,
  eventId: ev('door.forced', { door: 1 }).id, data: { door: 1, n: n++ }, ...over,
});
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof RbError ? err.code : String(err);
  }
  return undefined;
};

describe('raise and dedup', () => {
  it('opens an alert with its event and a transition by system', () => {
    const a = raise();
    const r = store.raise(a);
    expect(r.created).toBe(true);
    expect(r.alert).toMatchObject({ estate: E, gateway: GW, device: 'gate-1', rule: 'door.forced', key: 'door:1', severity: 3, state: 'open', count: 1, openedAt: DAY, lastAt: DAY, level: 0, events: [a.eventId] });
    expect(r.alert.id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect(store.get(r.alert.id)!.transitions).toEqual([{ at: DAY, actor: 'system', from: null, to: 'open' }]);
  });

  it('counts a repeat on the unresolved alert with the same key; other keys get their own', () => {
    const first = store.raise(raise()).alert;
    const again = store.raise(raise({ at: DAY + S, severity: 4 }));
    expect(again.created).toBe(false);
    expect(again.alert).toMatchObject({ id: first.id, count: 2, lastAt: DAY + S, severity: 4 });
    expect(again.alert.events).toHaveLength(2);
    expect(store.raise(raise({ key: 'door:2' })).created).toBe(true);
    expect(store.raise(raise({ device: 'gate-2' })).created).toBe(true);
    expect(store.raise(raise({ estate: 'oak-yard' })).created).toBe(true);
    expect(store.raise(raise({ rule: 'door.held' })).created).toBe(true);
    // The same event delivered twice counts once.
    const a = raise({ key: 'door:9' });
    store.raise(a);
    expect(store.raise(a)).toMatchObject({ created: false, changed: false, alert: { count: 1 } });
  });

  it('links at most 100 events: the first and the newest', () => {
    const actions = Array.from({ length: 130 }, (_, i) => raise({ at: DAY + i }));
    let last;
    for (const a of actions) last = store.raise(a).alert;
    expect(last!.count).toBe(130);
    expect(last!.events).toHaveLength(100);
    expect(last!.events[0]).toBe(actions[0]!.eventId);
    expect(last!.events.at(-1)).toBe(actions[129]!.eventId);
    expect(last!.events[1]).toBe(actions[31]!.eventId);
  });

  it('a resolved alert is not reused: the next raise opens a new one', () => {
    const a = store.raise(raise()).alert;
    store.resolve(a.id, 'user:u1', 'checked, false alarm', DAY + S);
    const b = store.raise(raise({ at: DAY + 2 * S }));
    expect(b.created).toBe(true);
    expect(b.alert.id).not.toBe(a.id);
  });

  it('the database refuses a second unresolved alert per key', () => {
    store.raise(raise());
    store.close();
    const db = new Database(join(dir, 'alerts.db'));
    expect(() =>
      db.prepare(`INSERT INTO alerts (id, estate, gateway, device, rule, key, severity, state, count, opened_at, last_at, data) VALUES ('x', ?, ?, 'gate-1', 'door.forced', 'door:1', 3, 'open', 1, 0, 0, '{}')`).run(E, GW),
    ).toThrow(/UNIQUE/);
    expect(db.pragma('user_version', { simple: true })).toBe(ALERTS_SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    store = openAlertStore(dir); // reopens without migrating again
    expect(store.list({ estates: [E] }).items).toHaveLength(1);
  });
});

describe('flapping door end to end: rules → store', () => {
  it('20 forced/closed in a minute make one alert with count 20, open and stamped with the last close until a person resolves it', () => {
    const en = new Engine();
    const apply = (actions: AlertAction[]): void => {
      for (const a of actions) if (a.type === 'raise') store.raise(a);
      else store.clear(a);
    };
    let lastClose = '';
    for (let i = 0; i < 20; i++) {
      apply(en.event(ev('door.forced', { door: 1 }, { ts: DAY + i * 3 * S }), DAY + i * 3 * S));
      const close = ev('door.closed', { door: 1 }, { ts: DAY + i * 3 * S + 1500 });
      lastClose = close.id;
      apply(en.event(close, DAY + i * 3 * S + 1500));
    }
    apply(en.runUntil(DAY + 3600 * S));
    const { items } = store.list({ estates: [E] });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ count: 20, state: 'open', conditionClearedAt: DAY + 57 * S + 1500, conditionClearedEvent: lastClose });
    expect(items[0]!.events).toHaveLength(20);
    // The timeline keeps the latest 20 repeats (19 here) and one condition-cleared per close.
    const activity = store.get(items[0]!.id)!.activity;
    expect(activity.filter((x) => x.kind === 'repeat').map((x) => (x as { count: number }).count)).toEqual(Array.from({ length: 19 }, (_, i) => i + 2));
    expect(activity.filter((x) => x.kind === 'condition-cleared')).toHaveLength(20);
    expect(store.resolve(items[0]!.id, 'user:v1', '门已修好', DAY + 4000 * S).alert).toMatchObject({ state: 'resolved', resolvedBy: 'user:v1', resolution: '门已修好' });
  });
});

describe('lifecycle', () => {
  it('acknowledge is idempotent and recorded once with its actor', () => {
    const { id } = store.raise(raise()).alert;
    const r1 = store.acknowledge(id, 'user:u1', 'on my way', DAY + 10 * S);
    expect(r1).toMatchObject({ changed: true, alert: { state: 'acknowledged', acknowledgedAt: DAY + 10 * S, acknowledgedBy: 'user:u1' } });
    const r2 = store.acknowledge(id, 'user:u2', undefined, DAY + 20 * S);
    expect(r2.changed).toBe(false);
    expect(r2.alert).toEqual(r1.alert);
    expect(store.get(id)!.transitions.map((t) => [t.from, t.to, t.actor, t.note])).toEqual([
      [null, 'open', 'system', undefined],
      ['open', 'acknowledged', 'user:u1', 'on my way'],
    ]);
  });

  it('a repeat on an acknowledged alert counts without reopening it', () => {
    const { id } = store.raise(raise()).alert;
    store.acknowledge(id, 'user:u1', undefined, DAY + S);
    expect(store.raise(raise({ at: DAY + 2 * S })).alert).toMatchObject({ id, state: 'acknowledged', count: 2 });
  });

  it('resolve needs a note, is idempotent, and works from every state', () => {
    for (const prep of [(_id: string) => {}, (id: string) => store.acknowledge(id, 'user:u1'), (id: string) => store.escalate(id, 2, DAY + S)]) {
      const { id } = store.raise(raise({ key: `door:${n}` })).alert;
      prep(id);
      expect(code(() => store.resolve(id, 'user:u1', '  '))).toBe('RB_ERR_BAD_BODY');
      expect(store.resolve(id, 'user:u1', 'fixed the latch', DAY + 5 * S)).toMatchObject({ changed: true, alert: { state: 'resolved', resolvedBy: 'user:u1', resolution: 'fixed the latch', resolvedAt: DAY + 5 * S } });
      expect(store.resolve(id, 'user:u2', 'again', DAY + 6 * S)).toMatchObject({ changed: false, alert: { resolvedBy: 'user:u1' } });
    }
  });

  it('refuses impossible transitions with RB_ERR_ALERT_STATE (409), unknown ids with RB_ERR_NOT_FOUND, bad actors', () => {
    const { id } = store.raise(raise()).alert;
    store.resolve(id, 'user:u1', 'done');
    let err: unknown;
    try {
      store.acknowledge(id, 'user:u1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RbError);
    expect((err as RbError).code).toBe('RB_ERR_ALERT_STATE');
    expect((err as RbError).status).toBe(409);
    expect(code(() => store.assign(id, 'user:u2', 'user:u1'))).toBe('RB_ERR_ALERT_STATE');
    expect(code(() => store.acknowledge('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'user:u1'))).toBe('RB_ERR_NOT_FOUND');
    expect(code(() => store.comment(id, 'bob', 'hi'))).toBe('RB_ERR_BAD_BODY');
    // Escalation racing a resolution is not an error: nothing happens.
    expect(store.escalate(id, 3, DAY).changed).toBe(false);
    expect(store.get(id)!.transitions).toHaveLength(2);
  });

  it('escalate raises the level once, stamps renotifications, and stops after an acknowledgement', () => {
    const { id } = store.raise(raise()).alert;
    expect(store.escalate(id, 0, DAY)).toMatchObject({ changed: false, alert: { state: 'open', level: 0, notifiedAt: DAY } });
    expect(store.escalate(id, 1, DAY + 300 * S)).toMatchObject({ changed: true, alert: { state: 'escalated', level: 1, notifiedAt: DAY + 300 * S } });
    expect(store.escalate(id, 1, DAY + 600 * S)).toMatchObject({ changed: false, alert: { level: 1, notifiedAt: DAY + 600 * S } });
    expect(code(() => store.escalate(id, 4, DAY))).toBe('RB_ERR_BAD_BODY');
    store.acknowledge(id, 'user:p1', undefined, DAY + 700 * S);
    expect(store.escalate(id, 2, DAY + 800 * S)).toMatchObject({ changed: false, alert: { state: 'acknowledged', level: 1 } });
    expect(store.get(id)!.transitions.map((t) => `${t.from}>${t.to}:${t.note ?? ''}`)).toEqual(['null>open:', 'open>escalated:level 1', 'escalated>acknowledged:']);
  });

  it('clear resolves by system with resolution "cleared"; nothing to clear returns null', () => {
    const a = store.raise(raise()).alert;
    expect(store.clear({ estate: E, device: 'gate-1', rule: 'door.forced', key: 'door:2', at: DAY })).toBeNull();
    const r = store.clear({ estate: E, device: 'gate-1', rule: 'door.forced', key: 'door:1', at: DAY + S, eventId: 'E1' });
    expect(r).toMatchObject({ changed: true, alert: { id: a.id, state: 'resolved', resolvedBy: 'system', resolution: 'cleared', resolvedAt: DAY + S } });
    expect(store.get(a.id)!.transitions.at(-1)).toMatchObject({ actor: 'system', to: 'resolved', note: 'cleared by event E1' });
    expect(store.clear({ estate: E, device: 'gate-1', rule: 'door.forced', key: 'door:1', at: DAY + 2 * S })).toBeNull();
  });

  it('assign and comment', () => {
    const { id } = store.raise(raise()).alert;
    expect(store.assign(id, 'user:v7', 'user:admin', DAY + S)).toMatchObject({ changed: true, alert: { assignee: 'user:v7' } });
    expect(store.assign(id, 'user:v7', 'user:admin', DAY + 2 * S).changed).toBe(false);
    expect(store.assign(id, null, 'user:admin', DAY + 3 * S).alert.assignee).toBeUndefined();
    const c = store.comment(id, 'user:v7', '门锁坏了, 已通知物业', DAY + 4 * S);
    expect(c).toMatchObject({ at: DAY + 4 * S, actor: 'user:v7', text: '门锁坏了, 已通知物业' });
    expect(code(() => store.comment(id, 'user:v7', ''))).toBe('RB_ERR_BAD_BODY');
    const d = store.get(id)!;
    expect(d.comments).toEqual([c]);
    expect(d.transitions.filter((t) => t.note?.startsWith('assigned')).map((t) => t.note)).toEqual(['assigned user:v7', 'assigned nobody']);
  });
});

describe('snapshots', () => {
  it('links a snapshot to the alert that holds its event, before or after the raise', () => {
    const a = raise({ snapshots: [SHA1] });
    const alert = store.raise(a).alert;
    expect(alert.snapshots).toEqual([{ sha256: SHA1, eventId: a.eventId }]);
    const changed = store.linkSnapshot(a.eventId!, SHA2);
    expect(changed.map((x) => x.id)).toEqual([alert.id]);
    expect(changed[0]!.snapshots.map((s) => s.sha256)).toEqual([SHA1, SHA2]);
    expect(store.linkSnapshot(a.eventId!, SHA2)).toEqual([]); // already linked

    // A snapshot that arrives first waits for the raise of its event.
    const b = raise({ key: 'door:5' });
    expect(store.linkSnapshot(b.eventId!, SHA1, DAY)).toEqual([]);
    expect(store.raise(b).alert.snapshots).toEqual([{ sha256: SHA1, eventId: b.eventId }]);
    expect(store.get(alert.id)!.snapshots).toHaveLength(2);
  });
});

describe('list, pagination, open alerts, escalation candidates', () => {
  it('lists newest first in pages with a cursor, filtered by scope and fields', () => {
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      ids.push(store.raise(raise({ key: `door:${i}`, at: DAY + Math.floor(i / 2) * S, severity: 1 + (i % 4), estate: i % 5 === 0 ? 'oak-yard' : E })).alert.id);
    }
    const mine = ids.filter((_, i) => i % 5 !== 0).reverse();
    const seen: string[] = [];
    let before: string | undefined;
    let pages = 0;
    do {
      const page = store.list({ estates: [E], limit: 7, ...(before ? { before } : {}) });
      seen.push(...page.items.map((a) => a.id));
      before = page.next ?? undefined;
      pages++;
    } while (before);
    expect(pages).toBe(3);
    expect(seen).toEqual(mine);
    expect(store.list({ estates: [] }).items).toEqual([]);
    expect(store.list({ estates: [E, 'oak-yard'] }).items).toHaveLength(25);
    expect(store.list({ estates: [E, 'oak-yard'], severity: 4 }).items.every((a) => a.severity === 4)).toBe(true);
    expect(store.list({ estates: [E, 'oak-yard'], severity: [3, 4] }).items).toHaveLength(12);
    store.acknowledge(ids[1]!, 'user:u1');
    expect(store.list({ estates: [E], state: 'acknowledged' }).items.map((a) => a.id)).toEqual([ids[1]]);
    expect(store.list({ estates: [E], state: ['open', 'escalated'] }).items).toHaveLength(19);
    expect(store.list({ estates: [E], rule: 'door.held' }).items).toEqual([]);
    expect(code(() => store.list({ estates: [E], before: 'nope' }))).toBe('RB_ERR_BAD_QUERY');
    expect(code(() => store.list({ estates: [E], limit: 0 }))).toBe('RB_ERR_BAD_QUERY');
  });

  it('openAlerts lists the unresolved alerts of an estate oldest first; dueForEscalation the unacknowledged ones', () => {
    const a = store.raise(raise({ key: 'door:1', at: DAY })).alert;
    const b = store.raise(raise({ key: 'door:2', at: DAY + S })).alert;
    const c = store.raise(raise({ key: 'door:3', at: DAY + 2 * S })).alert;
    const d = store.raise(raise({ key: 'door:4', at: DAY + 3 * S })).alert;
    store.acknowledge(b.id, 'user:u1');
    store.resolve(c.id, 'user:u1', 'ok');
    store.escalate(d.id, 1, DAY + 400 * S);
    expect(store.openAlerts(E).map((x) => x.id)).toEqual([a.id, b.id, d.id]);
    expect(store.dueForEscalation(DAY + 3 * S)).toEqual([
      { id: a.id, estate: E, severity: 3, state: 'open', level: 0, openedAt: DAY, notifiedAt: null },
      { id: d.id, estate: E, severity: 3, state: 'escalated', level: 1, openedAt: DAY + 3 * S, notifiedAt: DAY + 400 * S },
    ]);
    expect(store.dueForEscalation(DAY + 2 * S).map((x) => x.id)).toEqual([a.id]);
  });
});

describe('estate settings', () => {
  it('defaults, saves a validated override, survives a reopen, refuses bad input', () => {
    expect(store.settings(E).rules['door.held'].heldS).toBe(120);
    const s = store.saveSettings(E, { rules: { 'door.held': { heldS: 45 } } });
    expect(s.rules['door.held'].heldS).toBe(45);
    expect(s.escalation.ackMinutes).toEqual([5, 10, 20]);
    expect(code(() => store.saveSettings(E, { quietHours: { from: '7 pm' } }))).toBe('RB_ERR_BAD_BODY');
    store.close();
    store = openAlertStore(dir);
    expect(store.settings(E).rules['door.held'].heldS).toBe(45);
    expect(store.settings('oak-yard').rules['door.held'].heldS).toBe(120);
  });
});
