import { afterEach, describe, expect, it } from 'vitest';
import { createAlertService, type AlertPush } from '../../../hub/alerts/service.js';
import { createAlertStore } from '../../../hub/alerts/store.js';
import { createBus } from '../../../hub/bus.js';
import { createPushLog } from '../../../hub/push/log.js';
import { waitFor } from '../../support/hub.js';
import { pushOn } from '../platform/alerts-engine.contract.js';
import { silent, sqliteFactory, type DatabaseUnderTest } from '../platform/support.js';
import { E, ev } from './fixtures.js';

/**
 * An escalation that falls due while the database refuses writes (PostgreSQL restarting, a cut link,
 * a push sequence another cluster node took) is tried again, not dropped: before, the sweep logged
 * "escalation failed" and left no wake behind, so the alert stayed at level 0 until something else
 * happened to arm the timer (found by test/faults/cluster-pg-kill9.test.ts).
 */
describe('alert service: escalation the database refused', () => {
  let t: DatabaseUnderTest | undefined;
  afterEach(async () => {
    await t?.cleanup();
  });

  it('is retried and happens once', async () => {
    t = await sqliteFactory();
    const store = createAlertStore({ db: t.db });
    await store.load();
    // Level 1 after 0.6 s; nothing else due for hours; no quiet hours.
    await store.saveSettings(E, { escalation: { ackMinutes: [0.01, 600, 1200], renotifyMinutes: 0 }, quietHours: { maxSeverity: 0 } });
    const log = createPushLog(t.db, silent);
    const real = pushOn(log);
    let refuse = 0;
    const push: AlertPush = {
      transaction: (fn) => (refuse-- > 0 ? Promise.reject(new Error('connect ECONNREFUSED (database away)')) : real.transaction(fn)),
    };
    const bus = createBus(silent);
    const svc = createAlertService({ bus, store, push, roster: { recipients: () => [{ id: 'v1', role: 'volunteer' } as never] }, facts: { write: () => undefined }, log: silent });
    await svc.start();
    try {
      bus.emit('event', ev('door.forced', { door: 1 }, { ts: Date.now() }));
      await svc.idle();
      const [alert] = (await store.list({ estates: [E] })).items;
      expect(alert).toMatchObject({ level: 0 });
      // The escalation's transaction is refused twice when it falls due.
      refuse = 2;
      expect(await waitFor(async () => (await store.get(alert!.id))!.level === 1, 10_000, 50)).toBe(true);
      expect(refuse).toBeLessThanOrEqual(0);
      await svc.idle();
      const detail = (await store.get(alert!.id))!;
      expect(detail.activity.filter((a) => a.kind === 'notified').map((a) => a.level)).toEqual([0, 1]);
    } finally {
      await svc.stop();
      await log.close();
    }
  });
});
