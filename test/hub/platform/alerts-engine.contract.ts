import { beforeEach, describe, expect, it } from 'vitest';
import type { AlertAction } from '../../../hub/alerts/rules.js';
import { createAlertService, type AlertPush, type AlertService } from '../../../hub/alerts/service.js';
import type { AlertStore } from '../../../hub/alerts/store.js';
import { createAudit } from '../../../hub/audit.js';
import { createBus } from '../../../hub/bus.js';
import { createPushLog, type PushEnvelope, type PushLog } from '../../../hub/push/log.js';
import { DAY, E, Engine, ev } from '../alerts/fixtures.js';
import { silent, type DatabaseFactory, type DatabaseUnderTest } from './support.js';
import { eachAlertStore, raiser } from './alerts-fixture.js';

/**
 * The alert store as the engine uses it, run on every engine of the hub database (with alerts.contract.ts):
 * the rules' actions applied to it (a flapping door), and the service's outbox: an alert change, its audit
 * entry and its push messages commit in one transaction, and only committed messages are sent.
 */
const S = 1000;

/** An AlertPush on a push log, as hub/push builds it (scopes `estate:E`, `user:U`; no masking). */
export function pushOn(log: PushLog): AlertPush {
  return {
    transaction: (fn) =>
      log.transaction((trx, out) =>
        fn(trx, {
          toEstate: (estate, event, data, at) => out.append(`estate:${estate}`, event, data, at),
          toUser: (user, _role, event, data, at) => out.append(`user:${user}`, event, data, at),
        }),
      ),
  };
}

export function describeAlertEngine(engine: string, factory: DatabaseFactory): void {
  describe(`alert store on ${engine}`, () => {
    let t: DatabaseUnderTest;
    let store: AlertStore;
    eachAlertStore(factory, (db, s) => ((t = db), (store = s)));
    const raise = raiser();

    describe('flapping door end to end: rules → store', () => {
      it('20 forced/closed in a minute make one alert with count 20, open and stamped with the last close until a person resolves it', async () => {
        const en = new Engine();
        const apply = async (actions: AlertAction[]): Promise<void> => {
          for (const a of actions) if (a.type === 'raise') await store.raise(a);
          else await store.clear(a);
        };
        let lastClose = '';
        for (let i = 0; i < 20; i++) {
          await apply(en.event(ev('door.forced', { door: 1 }, { ts: DAY + i * 3 * S }), DAY + i * 3 * S));
          const close = ev('door.closed', { door: 1 }, { ts: DAY + i * 3 * S + 1500 });
          lastClose = close.id;
          await apply(en.event(close, DAY + i * 3 * S + 1500));
        }
        await apply(en.runUntil(DAY + 3600 * S));
        const { items } = await store.list({ estates: [E] });
        expect(items).toHaveLength(1);
        expect(items[0]).toMatchObject({ count: 20, state: 'open', conditionClearedAt: DAY + 57 * S + 1500, conditionClearedEvent: lastClose });
        expect(items[0]!.events).toHaveLength(20);
        // The timeline keeps the latest 20 repeats (19 here) and one condition-cleared per close.
        const activity = (await store.get(items[0]!.id))!.activity;
        expect(activity.filter((x) => x.kind === 'repeat').map((x) => (x as { count: number }).count)).toEqual(Array.from({ length: 19 }, (_, i) => i + 2));
        expect(activity.filter((x) => x.kind === 'condition-cleared')).toHaveLength(20);
        expect((await store.resolve(items[0]!.id, 'user:v1', '门已修好', DAY + 4000 * S)).alert).toMatchObject({ state: 'resolved', resolvedBy: 'user:v1', resolution: '门已修好' });
      });
    });

    describe('the outbox: alert change, audit entry and push messages in one transaction', () => {
      let log: PushLog;
      let alerts: AlertService;
      let emitted: PushEnvelope[];
      let visibleAtEmit: Array<Promise<boolean>>;
      const audit = () => createAudit({ db: t.db, log: silent, now: () => DAY });
      beforeEach(async () => {
        log = createPushLog(t.db, silent);
        emitted = [];
        visibleAtEmit = [];
        log.onCommit((envs) => {
          emitted.push(...envs);
          // Whatever is sent is committed already: a fresh read (another statement, outside the writer) finds it.
          for (const e of envs) {
            visibleAtEmit.push(t.db.db.selectFrom('push_log').select('seq').where('scope', '=', e.scope).where('seq', '=', e.seq).execute().then((r) => r.length === 1));
          }
        });
        alerts = createAlertService({
          bus: createBus(silent),
          store,
          push: pushOn(log),
          audit: audit(),
          roster: { recipients: () => [{ id: 'v1', role: 'volunteer' } as never] },
          facts: { write: () => undefined },
          log: silent,
          now: () => DAY,
        });
      });

      const auditRows = async () => (await audit().query()).items;
      const pushRows = async (scope: string) => (await log.after(scope, 0, 1000))!;

      it('an acknowledgement commits its transition, its audit entry and its alert:update together; sent after COMMIT', async () => {
        const { id } = (await store.raise(raise())).alert;
        let emittedInside = -1;
        const change = await alerts.acknowledge(id, 'user:u1', 'on my way', (c) => {
          emittedInside = emitted.length; // inside the transaction, after the push row was logged
          return { actor: 'user:u1', action: 'alert.ack', estate: E, target: `alert:${id}`, detail: { changed: c.changed } };
        });
        expect(emittedInside).toBe(0);
        expect(change).toMatchObject({ changed: true, alert: { state: 'acknowledged' } });
        expect(emitted.map((e) => [e.scope, e.seq, e.event])).toEqual([[`estate:${E}`, 1, 'alert:update']]);
        expect(await Promise.all(visibleAtEmit)).toEqual([true]);
        expect(await pushRows(`estate:${E}`)).toEqual([expect.objectContaining({ seq: 1, event: 'alert:update', data: expect.objectContaining({ id, state: 'acknowledged' }) })]);
        expect(await auditRows()).toMatchObject([{ action: 'alert.ack', target: `alert:${id}`, detail: { changed: true } }]);
      });

      it('a transaction that fails leaves no alert change, no audit row, no push row, and sent nothing; the next one takes the same seq', async () => {
        const { id } = (await store.raise(raise())).alert;
        // The audit insert is refused by the database (actor is NOT NULL), after the transition and its push row were written.
        const failing = alerts.acknowledge(id, 'user:u1', 'on my way', () => ({ actor: null as unknown as string, action: 'alert.ack' }));
        await expect(failing).rejects.toThrow();
        expect((await store.get(id))!).toMatchObject({ state: 'open', transitions: [{ to: 'open' }] });
        expect(await auditRows()).toEqual([]);
        expect(await pushRows(`estate:${E}`)).toEqual([]);
        expect(emitted).toEqual([]);
        expect(await log.last(`estate:${E}`)).toBe(0);
        // A comment that fails the same way leaves no comment.
        await expect(alerts.comment(id, 'user:u1', 'hi', () => ({ actor: null as unknown as string, action: 'alert.comment' }))).rejects.toThrow();
        expect((await store.get(id))!.comments).toEqual([]);
        // The sequence was not used: the next committed message is 1, with no gap.
        await alerts.resolve(id, 'user:u1', 'done', (c) => ({ actor: 'user:u1', action: 'alert.resolve', detail: { changed: c.changed } }));
        expect(emitted.map((e) => e.seq)).toEqual([1]);
        expect((await pushRows(`estate:${E}`)).map((e) => e.seq)).toEqual([1]);
        expect((await auditRows()).map((e) => e.action)).toEqual(['alert.resolve']);
      });

      it('a forced door raised by the rules: alert, alert:new and the notification commit together, in order, with contiguous seqs', async () => {
        const bus = createBus(silent);
        const svc = createAlertService({
          bus,
          store,
          push: pushOn(log),
          roster: { recipients: () => [{ id: 'v1', role: 'volunteer' } as never, { id: 'v2', role: 'volunteer' } as never] },
          facts: { write: () => undefined },
          log: silent,
          now: () => DAY,
        });
        await store.saveSettings(E, { quietHours: { maxSeverity: 0 } });
        await svc.start();
        for (let i = 1; i <= 5; i++) bus.emit('event', ev('door.forced', { door: i }, { ts: DAY }));
        await svc.idle();
        await svc.stop();
        const alertsNow = (await store.list({ estates: [E] })).items;
        expect(alertsNow).toHaveLength(5);
        const estate = await pushRows(`estate:${E}`);
        expect(estate.map((e) => [e.seq, e.event])).toEqual([1, 2, 3, 4, 5].map((s) => [s, 'alert:new']));
        expect((await pushRows('user:v1')).map((e) => [e.seq, e.event])).toEqual([1, 2, 3, 4, 5].map((s) => [s, 'alert:notify']));
        expect(emitted.filter((e) => e.scope === 'user:v2').map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
        expect((await Promise.all(visibleAtEmit)).every(Boolean)).toBe(true);
        // Each alert's notification is on its timeline, committed with it.
        for (const a of alertsNow) expect((await store.get(a.id))!.activity.filter((x) => x.kind === 'notified')).toHaveLength(2);
      });
    });
  });
}
