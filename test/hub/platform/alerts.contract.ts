import { describe, expect, it } from 'vitest';
import type { AlertAction } from '../../../hub/alerts/rules.js';
import { createAlertStore, type AlertStore } from '../../../hub/alerts/store.js';
import { RbError } from '../../../hub/errors.js';
import { DAY, E, GW } from '../alerts/fixtures.js';
import type { DatabaseFactory, DatabaseUnderTest } from './support.js';
import { eachAlertStore, raiser } from './alerts-fixture.js';

/**
 * The alert store's contract (STYLE.md §4), written once and run on every engine of the hub
 * database: lifecycle, dedup, timelines, snapshots, lists, reports, settings. The store as the engine
 * uses it (the rules' actions, the service's outbox) is alerts-engine.contract.ts.
 */
const S = 1000;
const SHA1 = '1'.repeat(64);
const SHA2 = '2'.repeat(64);

const code = async (fn: () => unknown): Promise<string | undefined> => {
  try {
    await fn();
  } catch (err) {
    return err instanceof RbError ? err.code : String(err);
  }
  return undefined;
};

export function describeAlerts(engine: string, factory: DatabaseFactory): void {
  describe(`alert store on ${engine}`, () => {
    let t: DatabaseUnderTest;
    let store: AlertStore;
    eachAlertStore(factory, (db, s) => ((t = db), (store = s)));
    const raise = raiser();
    const clear = (at: number, eventId: string, resolve = false): Extract<AlertAction, { type: 'clear' }> => ({
      type: 'clear', resolve, rule: 'door.forced', estate: E, gateway: GW, device: 'gate-1', key: 'door:1', at, eventId,
    });

    describe('raise and dedup', () => {
      it('opens an alert with its event and a transition by system', async () => {
        const a = raise();
        const r = await store.raise(a);
        expect(r.created).toBe(true);
        expect(r.alert).toMatchObject({ estate: E, gateway: GW, device: 'gate-1', rule: 'door.forced', key: 'door:1', severity: 3, state: 'open', count: 1, openedAt: DAY, lastAt: DAY, level: 0, events: [a.eventId] });
        expect(r.alert.id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
        expect((await store.get(r.alert.id))!.transitions).toEqual([{ at: DAY, actor: 'system', from: null, to: 'open' }]);
      });

      it('counts a repeat on the unresolved alert with the same key; other keys get their own', async () => {
        const first = (await store.raise(raise())).alert;
        const again = await store.raise(raise({ at: DAY + S, severity: 4 }));
        expect(again.created).toBe(false);
        expect(again.alert).toMatchObject({ id: first.id, count: 2, lastAt: DAY + S, severity: 4 });
        expect(again.alert.events).toHaveLength(2);
        // An older repeat never moves lastAt back nor lowers the severity.
        expect((await store.raise(raise({ at: DAY, severity: 1 }))).alert).toMatchObject({ count: 3, lastAt: DAY + S, severity: 4 });
        expect((await store.raise(raise({ key: 'door:2' }))).created).toBe(true);
        expect((await store.raise(raise({ device: 'gate-2' }))).created).toBe(true);
        expect((await store.raise(raise({ estate: 'oak-yard' }))).created).toBe(true);
        expect((await store.raise(raise({ rule: 'door.held' }))).created).toBe(true);
        // The same event delivered twice counts once.
        const a = raise({ key: 'door:9' });
        await store.raise(a);
        expect(await store.raise(a)).toMatchObject({ created: false, changed: false, alert: { count: 1 } });
      });

      it('links at most 100 events: the first and the newest', async () => {
        const actions = Array.from({ length: 130 }, (_, i) => raise({ at: DAY + i }));
        let last;
        for (const a of actions) last = (await store.raise(a)).alert;
        expect(last!.count).toBe(130);
        expect(last!.events).toHaveLength(100);
        expect(last!.events[0]).toBe(actions[0]!.eventId);
        expect(last!.events.at(-1)).toBe(actions[129]!.eventId);
        expect(last!.events[1]).toBe(actions[31]!.eventId);
      });

      it('a resolved alert is not reused: the next raise opens a new one', async () => {
        const a = (await store.raise(raise())).alert;
        await store.resolve(a.id, 'user:u1', 'checked, false alarm', DAY + S);
        const b = await store.raise(raise({ at: DAY + 2 * S }));
        expect(b.created).toBe(true);
        expect(b.alert.id).not.toBe(a.id);
      });

      it('the database refuses a second unresolved alert per key; a resolved one does not count', async () => {
        const a = (await store.raise(raise())).alert;
        const row = {
          id: '01KA0000000000000000000000', estate: E, gateway: GW, device: 'gate-1', rule: 'door.forced', key: 'door:1', severity: 3, state: 'open' as const,
          count: 1, opened_at: 0, last_at: 0, level: 0, data: '{}', ack_at: null, ack_by: null, resolved_at: null, resolved_by: null, resolution: null,
          notified_at: null, assignee: null, cleared_at: null, cleared_event: null,
        };
        await expect(t.db.db.insertInto('alerts').values(row).execute()).rejects.toThrow(/unique|UNIQUE/);
        await expect(t.db.db.insertInto('alerts').values({ ...row, id: '01KA0000000000000000000001', state: 'bogus' as 'open' }).execute()).rejects.toThrow(/check|CHECK/);
        await store.resolve(a.id, 'user:u1', 'ok');
        await t.db.db.insertInto('alerts').values(row).execute();
        // Another store on the same database (a restart) reads the same alerts.
        const again = createAlertStore({ db: t.db });
        expect((await again.list({ estates: [E] })).items.map((x) => x.id)).toEqual([a.id, row.id]);
      });
    });

    describe('lifecycle', () => {
      it('acknowledge is idempotent and recorded once with its actor', async () => {
        const { id } = (await store.raise(raise())).alert;
        const r1 = await store.acknowledge(id, 'user:u1', 'on my way', DAY + 10 * S);
        expect(r1).toMatchObject({ changed: true, alert: { state: 'acknowledged', acknowledgedAt: DAY + 10 * S, acknowledgedBy: 'user:u1' } });
        const r2 = await store.acknowledge(id, 'user:u2', undefined, DAY + 20 * S);
        expect(r2.changed).toBe(false);
        expect(r2.alert).toEqual(r1.alert);
        expect((await store.get(id))!.transitions.map((x) => [x.from, x.to, x.actor, x.note])).toEqual([
          [null, 'open', 'system', undefined],
          ['open', 'acknowledged', 'user:u1', 'on my way'],
        ]);
      });

      it('a repeat on an acknowledged alert counts without reopening it', async () => {
        const { id } = (await store.raise(raise())).alert;
        await store.acknowledge(id, 'user:u1', undefined, DAY + S);
        expect((await store.raise(raise({ at: DAY + 2 * S }))).alert).toMatchObject({ id, state: 'acknowledged', count: 2 });
      });

      it('resolve needs a note, is idempotent, and works from every state', async () => {
        const preps = [async (_id: string) => {}, (id: string) => store.acknowledge(id, 'user:u1'), (id: string) => store.escalate(id, 2, DAY + S)];
        for (const [i, prep] of preps.entries()) {
          const { id } = (await store.raise(raise({ key: `door:prep-${i}` }))).alert;
          await prep(id);
          expect(await code(() => store.resolve(id, 'user:u1', '  '))).toBe('RB_ERR_BAD_BODY');
          expect(await store.resolve(id, 'user:u1', 'fixed the latch', DAY + 5 * S)).toMatchObject({ changed: true, alert: { state: 'resolved', resolvedBy: 'user:u1', resolution: 'fixed the latch', resolvedAt: DAY + 5 * S } });
          expect(await store.resolve(id, 'user:u2', 'again', DAY + 6 * S)).toMatchObject({ changed: false, alert: { resolvedBy: 'user:u1' } });
        }
      });

      it('refuses impossible transitions with RB_ERR_ALERT_STATE (409), unknown ids with RB_ERR_NOT_FOUND, bad actors', async () => {
        const { id } = (await store.raise(raise())).alert;
        await store.resolve(id, 'user:u1', 'done');
        const err = await store.acknowledge(id, 'user:u1').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RbError);
        expect((err as RbError).code).toBe('RB_ERR_ALERT_STATE');
        expect((err as RbError).status).toBe(409);
        expect(await code(() => store.assign(id, 'user:u2', 'user:u1'))).toBe('RB_ERR_ALERT_STATE');
        expect(await code(() => store.acknowledge('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'user:u1'))).toBe('RB_ERR_NOT_FOUND');
        expect(await code(() => store.comment(id, 'bob', 'hi'))).toBe('RB_ERR_BAD_BODY');
        // Escalation racing a resolution is not an error: nothing happens.
        expect((await store.escalate(id, 3, DAY)).changed).toBe(false);
        expect((await store.get(id))!.transitions).toHaveLength(2);
      });

      it('escalate raises the level once, stamps renotifications, and stops after an acknowledgement', async () => {
        const { id } = (await store.raise(raise())).alert;
        expect(await store.escalate(id, 0, DAY)).toMatchObject({ changed: false, alert: { state: 'open', level: 0, notifiedAt: DAY } });
        expect(await store.escalate(id, 1, DAY + 300 * S)).toMatchObject({ changed: true, alert: { state: 'escalated', level: 1, notifiedAt: DAY + 300 * S } });
        expect(await store.escalate(id, 1, DAY + 600 * S)).toMatchObject({ changed: false, alert: { level: 1, notifiedAt: DAY + 600 * S } });
        expect(await code(() => store.escalate(id, 4, DAY))).toBe('RB_ERR_BAD_BODY');
        await store.acknowledge(id, 'user:p1', undefined, DAY + 700 * S);
        expect(await store.escalate(id, 2, DAY + 800 * S)).toMatchObject({ changed: false, alert: { state: 'acknowledged', level: 1 } });
        expect((await store.get(id))!.transitions.map((x) => `${x.from}>${x.to}:${x.note ?? ''}`)).toEqual(['null>open:', 'open>escalated:level 1', 'escalated>acknowledged:']);
      });

      it('clear resolves by system with resolution "cleared"; nothing to clear returns null', async () => {
        const a = (await store.raise(raise())).alert;
        expect(await store.clear({ estate: E, device: 'gate-1', rule: 'door.forced', key: 'door:2', at: DAY })).toBeNull();
        const r = await store.clear({ estate: E, device: 'gate-1', rule: 'door.forced', key: 'door:1', at: DAY + S, eventId: 'E1' });
        expect(r).toMatchObject({ changed: true, alert: { id: a.id, state: 'resolved', resolvedBy: 'system', resolution: 'cleared', resolvedAt: DAY + S } });
        expect((await store.get(a.id))!.transitions.at(-1)).toMatchObject({ actor: 'system', to: 'resolved', note: 'cleared by event E1' });
        expect(await store.clear({ estate: E, device: 'gate-1', rule: 'door.forced', key: 'door:1', at: DAY + 2 * S })).toBeNull();
      });

      it('assign and comment', async () => {
        const { id } = (await store.raise(raise())).alert;
        expect(await store.assign(id, 'user:v7', 'user:admin', DAY + S)).toMatchObject({ changed: true, alert: { assignee: 'user:v7' } });
        expect((await store.assign(id, 'user:v7', 'user:admin', DAY + 2 * S)).changed).toBe(false);
        expect((await store.assign(id, null, 'user:admin', DAY + 3 * S)).alert.assignee).toBeUndefined();
        const c = await store.comment(id, 'user:v7', '门锁坏了, 已通知物业', DAY + 4 * S);
        expect(c).toMatchObject({ at: DAY + 4 * S, actor: 'user:v7', text: '门锁坏了, 已通知物业' });
        expect(await code(() => store.comment(id, 'user:v7', ''))).toBe('RB_ERR_BAD_BODY');
        const d = (await store.get(id))!;
        expect(d.comments).toEqual([c]);
        expect(d.transitions.filter((x) => x.note?.startsWith('assigned')).map((x) => x.note)).toEqual(['assigned user:v7', 'assigned nobody']);
      });
    });

    describe('sign-off: the condition-cleared stamp, repeats, notifications', () => {
      it('stamps once, keeps the alert open, and a repeat removes the stamp', async () => {
        const { id } = (await store.raise(raise())).alert;
        expect(await store.clear(clear(DAY + 10 * S, 'E-close-1'))).toMatchObject({ changed: true, alert: { id, state: 'open', conditionClearedAt: DAY + 10 * S, conditionClearedEvent: 'E-close-1' } });
        expect(await store.clear(clear(DAY + 20 * S, 'E-close-2'))).toMatchObject({ changed: false, alert: { conditionClearedAt: DAY + 10 * S } });
        const again = await store.raise(raise({ at: DAY + 30 * S }));
        expect(again).toMatchObject({ created: false, changed: true, alert: { id, count: 2 } });
        expect(again.alert.conditionClearedAt).toBeUndefined();
        expect((await store.clear(clear(DAY + 40 * S, 'E-close-3')))!.alert.conditionClearedAt).toBe(DAY + 40 * S);
        expect((await store.get(id))!.activity).toEqual([
          { kind: 'condition-cleared', at: DAY + 10 * S, eventId: 'E-close-1' },
          { kind: 'repeat', at: DAY + 30 * S, count: 2, eventId: expect.any(String) },
          { kind: 'condition-cleared', at: DAY + 40 * S, eventId: 'E-close-3' },
        ]);
      });

      it('acknowledged alarms are stamped too; resolve: true still resolves by system', async () => {
        const { id } = (await store.raise(raise())).alert;
        await store.acknowledge(id, 'user:v1', undefined, DAY + S);
        expect((await store.clear(clear(DAY + 2 * S, 'E1')))!.alert).toMatchObject({ state: 'acknowledged', conditionClearedAt: DAY + 2 * S });
        expect((await store.clear(clear(DAY + 3 * S, 'E2', true)))!.alert).toMatchObject({ state: 'resolved', resolvedBy: 'system', resolution: 'cleared' });
      });

      it('records who was notified at which level, and keeps only the latest 20 repeats', async () => {
        const { id } = (await store.raise(raise())).alert;
        await store.notified(id, { at: DAY, level: 0, reason: 'new', actors: ['user:a', 'user:b'] });
        await store.escalate(id, 1, DAY + 60 * S);
        await store.notified(id, { at: DAY + 60 * S, level: 1, reason: 'escalated', actors: ['user:c'] });
        await expect(store.notified(id, { at: DAY, level: 0, reason: 'new', actors: ['bad actor'] })).rejects.toThrow(/actor/);
        for (let i = 0; i < 30; i++) await store.raise(raise({ at: DAY + (100 + i) * S }));
        const d = (await store.get(id))!;
        expect(d.activity.filter((a) => a.kind === 'notified')).toEqual([
          { kind: 'notified', at: DAY, actor: 'user:a', level: 0, reason: 'new' },
          { kind: 'notified', at: DAY, actor: 'user:b', level: 0, reason: 'new' },
          { kind: 'notified', at: DAY + 60 * S, actor: 'user:c', level: 1, reason: 'escalated' },
        ]);
        const repeats = d.activity.filter((a) => a.kind === 'repeat') as Array<{ count: number }>;
        expect(repeats.map((r) => r.count)).toEqual(Array.from({ length: 20 }, (_, i) => i + 12));
        expect(d.count).toBe(31);
      });
    });

    describe('snapshots', () => {
      it('links a snapshot to the alert that holds its event, before or after the raise', async () => {
        const a = raise({ snapshots: [SHA1] });
        const alert = (await store.raise(a)).alert;
        expect(alert.snapshots).toEqual([{ sha256: SHA1, eventId: a.eventId }]);
        const changed = await store.linkSnapshot(a.eventId!, SHA2);
        expect(changed.map((x) => x.id)).toEqual([alert.id]);
        expect(changed[0]!.snapshots.map((s) => s.sha256)).toEqual([SHA1, SHA2]);
        expect(await store.linkSnapshot(a.eventId!, SHA2)).toEqual([]); // already linked

        // A snapshot that arrives first waits for the raise of its event.
        const b = raise({ key: 'door:5' });
        expect(await store.linkSnapshot(b.eventId!, SHA1, DAY)).toEqual([]);
        expect(await store.linkSnapshot(b.eventId!, SHA1, DAY)).toEqual([]); // twice: kept once
        expect((await store.raise(b)).alert.snapshots).toEqual([{ sha256: SHA1, eventId: b.eventId }]);
        expect((await store.get(alert.id))!.snapshots).toHaveLength(2);
        // Older than an hour: gone before a raise picks it up.
        const c = raise({ key: 'door:6' });
        await store.linkSnapshot(c.eventId!, SHA2, DAY);
        await store.linkSnapshot('other-event', SHA1, DAY + 3601 * S);
        expect((await store.raise(c)).alert.snapshots).toEqual([]);
      });
    });

    describe('list, pagination, open alerts, escalation candidates, reports', () => {
      it('lists newest first in pages with a cursor, filtered by scope and fields', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 25; i++) {
          ids.push((await store.raise(raise({ key: `door:${i}`, at: DAY + Math.floor(i / 2) * S, severity: 1 + (i % 4), estate: i % 5 === 0 ? 'oak-yard' : E }))).alert.id);
        }
        const mine = ids.filter((_, i) => i % 5 !== 0).reverse();
        const seen: string[] = [];
        let before: string | undefined;
        let pages = 0;
        do {
          const page = await store.list({ estates: [E], limit: 7, ...(before ? { before } : {}) });
          seen.push(...page.items.map((a) => a.id));
          before = page.next ?? undefined;
          pages++;
        } while (before);
        expect(pages).toBe(3);
        expect(seen).toEqual(mine);
        // By severity: highest first, then the longest waiting, paged the same way.
        const bySeverity: string[] = [];
        before = undefined;
        do {
          const page = await store.list({ estates: [E], limit: 6, sort: 'severity', ...(before ? { before } : {}) });
          bySeverity.push(...page.items.map((a) => `${a.severity}:${a.id}`));
          before = page.next ?? undefined;
        } while (before);
        expect(bySeverity).toHaveLength(20);
        expect(bySeverity).toEqual([...bySeverity].sort((x, y) => Number(y[0]) - Number(x[0]) || (x < y ? -1 : 1)));
        expect((await store.list({ estates: [] })).items).toEqual([]);
        expect((await store.list({ estates: [E, 'oak-yard'] })).items).toHaveLength(25);
        expect((await store.list({ estates: [E, 'oak-yard'], severity: 4 })).items.every((a) => a.severity === 4)).toBe(true);
        expect((await store.list({ estates: [E, 'oak-yard'], severity: [3, 4] })).items).toHaveLength(12);
        await store.acknowledge(ids[1]!, 'user:u1');
        expect((await store.list({ estates: [E], state: 'acknowledged' })).items.map((a) => a.id)).toEqual([ids[1]]);
        expect((await store.list({ estates: [E], state: ['open', 'escalated'] })).items).toHaveLength(19);
        expect((await store.list({ estates: [E], rule: 'door.held' })).items).toEqual([]);
        expect(await code(() => store.list({ estates: [E], before: 'nope' }))).toBe('RB_ERR_BAD_QUERY');
        expect(await code(() => store.list({ estates: [E], limit: 0 }))).toBe('RB_ERR_BAD_QUERY');
      });

      it('openAlerts lists the unresolved alerts of an estate oldest first; dueForEscalation the unacknowledged ones', async () => {
        const a = (await store.raise(raise({ key: 'door:1', at: DAY }))).alert;
        const b = (await store.raise(raise({ key: 'door:2', at: DAY + S }))).alert;
        const c = (await store.raise(raise({ key: 'door:3', at: DAY + 2 * S }))).alert;
        const d = (await store.raise(raise({ key: 'door:4', at: DAY + 3 * S }))).alert;
        await store.acknowledge(b.id, 'user:u1');
        await store.resolve(c.id, 'user:u1', 'ok');
        await store.escalate(d.id, 1, DAY + 400 * S);
        expect((await store.openAlerts(E)).map((x) => x.id)).toEqual([a.id, b.id, d.id]);
        expect(await store.dueForEscalation(DAY + 3 * S)).toEqual([
          { id: a.id, estate: E, severity: 3, state: 'open', level: 0, openedAt: DAY, notifiedAt: null },
          { id: d.id, estate: E, severity: 3, state: 'escalated', level: 1, openedAt: DAY + 3 * S, notifiedAt: DAY + 400 * S },
        ]);
        expect((await store.dueForEscalation(DAY + 2 * S)).map((x) => x.id)).toEqual([a.id]);
      });

      it('reports: stats, open counts, history by resolution time with its cursor, resolved counts per rule', async () => {
        const a = (await store.raise(raise({ key: 'k1', at: DAY, severity: 4 }))).alert;
        const b = (await store.raise(raise({ key: 'k2', at: DAY + S, severity: 2, rule: 'door.held' }))).alert;
        const c = (await store.raise(raise({ key: 'k3', at: DAY + 2 * S, severity: 2 }))).alert;
        await store.raise(raise({ key: 'k4', at: DAY, estate: 'oak-yard' }));
        await store.acknowledge(a.id, 'user:u1', undefined, DAY + 60 * S);
        await store.resolve(a.id, 'user:u1', 'ok', DAY + 120 * S);
        await store.resolve(b.id, 'user:u1', 'ok', DAY + 121 * S);
        await store.escalate(c.id, 2, DAY + 300 * S);
        expect(await store.stats({ estates: [E], from: DAY, to: DAY + 3 * S })).toEqual({
          opened: 3, resolved: 2, acknowledged: 1, escalated: 1, medianAckS: 60, p90AckS: 60, medianResolveS: 120,
        });
        expect(await store.stats({ estates: [], from: 0, to: DAY * 2 })).toMatchObject({ opened: 0, medianAckS: null });
        expect(await store.openCounts([E, 'oak-yard', 'elm'])).toEqual({
          [E]: { '1': 0, '2': 1, '3': 0, '4': 0 },
          'oak-yard': { '1': 0, '2': 0, '3': 1, '4': 0 },
          elm: { '1': 0, '2': 0, '3': 0, '4': 0 },
        });
        const page1 = await store.history({ estates: [E], from: DAY, to: DAY + 3600 * S, limit: 1 });
        expect(page1.items.map((x) => x.id)).toEqual([b.id]);
        const page2 = await store.history({ estates: [E], from: DAY, to: DAY + 3600 * S, limit: 1, before: page1.next! });
        expect(page2).toEqual({ items: [expect.objectContaining({ id: a.id })], next: null });
        expect((await store.history({ estates: [E], rule: ['door.held'], from: DAY, to: DAY + 3600 * S })).items.map((x) => x.id)).toEqual([b.id]);
        expect(await code(() => store.history({ estates: [E], from: DAY, to: DAY + S, before: c.id }))).toBe('RB_ERR_BAD_QUERY');
        expect(await store.resolvedCounts({ estates: [E], from: DAY, to: DAY + 3600 * S })).toEqual({ 'door.forced': 1, 'door.held': 1 });
        expect(await store.resolvedCounts({ estates: [E], from: DAY + 121 * S, to: DAY + 3600 * S })).toEqual({ 'door.held': 1 });
      });
    });

    describe('estate settings', () => {
      it('defaults, saves a validated override, survives a restart, refuses bad input', async () => {
        expect(store.settings(E).rules['door.held'].heldS).toBe(120);
        const s = await store.saveSettings(E, { rules: { 'door.held': { heldS: 45 } } });
        expect(s.rules['door.held'].heldS).toBe(45);
        expect(s.escalation.ackMinutes).toEqual([5, 10, 20]);
        expect(await code(() => store.saveSettings(E, { quietHours: { from: '7 pm' } }))).toBe('RB_ERR_BAD_BODY');
        await store.saveSettings(E, { rules: { 'door.held': { heldS: 50 } } }); // replaces
        const again = createAlertStore({ db: t.db });
        expect(again.settings(E).rules['door.held'].heldS).toBe(120); // nothing read before load()
        await again.load();
        expect(again.settings(E).rules['door.held'].heldS).toBe(50);
        expect(again.settings('oak-yard').rules['door.held'].heldS).toBe(120);
      });
    });
  });
}
