import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNotificationOutbox, type NewNotification, type NotificationOutbox } from '../../../hub/notify/outbox.js';
import type { DatabaseFactory, DatabaseUnderTest } from './support.js';

/**
 * The notification outbox's contract on every engine of the hub database: one row per (alert, level,
 * person or group, channel) kept by the database, rows that commit or roll back with the caller's
 * transaction, the claim that only one dispatcher wins, retries that keep the id, crash recovery of
 * rows left `sending`, and the due order.
 */
export function describeNotifyOutbox(engine: string, factory: DatabaseFactory): void {
  describe(`notification outbox on ${engine}`, () => {
    let t: DatabaseUnderTest;
    let outbox: NotificationOutbox;
    beforeEach(async () => {
      t = await factory();
      outbox = createNotificationOutbox(t.db);
    });
    afterEach(async () => {
      await t.cleanup();
    });

    const row = (over: Partial<NewNotification> = {}): NewNotification => ({
      alertId: 'A1',
      estate: 'maple',
      level: 0,
      severity: 3,
      userId: 'u1',
      channelId: 'sms',
      channelType: 'sms-aliyun',
      address: { kind: 'phone', phone: '13800138000' },
      lang: 'zh-CN',
      fallback: false,
      at: 1_000,
      ...over,
    });

    it('keeps one row per alert, level, person (or group) and channel, in the database', async () => {
      const first = await outbox.insert(t.db.db, [row(), row({ channelId: 'wecom', address: { kind: 'wecom-user', userId: 'zhangsan' } }), row({ userId: null, channelId: 'robot', address: { kind: 'group' } })]);
      expect(first).toHaveLength(3);
      expect(first[0]).toMatchObject({ alertId: 'A1', level: 0, userId: 'u1', state: 'queued', attempts: 0, nextAt: 1_000, queuedAt: 1_000, atEdge: false, fallback: false, address: { kind: 'phone', phone: '13800138000' } });
      // Renotify at the same level, and the group robot again: nothing new.
      const again = await outbox.insert(t.db.db, [row({ at: 2_000 }), row({ userId: null, channelId: 'robot', address: { kind: 'group' }, at: 2_000 })]);
      expect(again).toEqual([]);
      // Another level, another person, another alert: new rows.
      const more = await outbox.insert(t.db.db, [row({ level: 1 }), row({ userId: 'u2' }), row({ alertId: 'A2' })]);
      expect(more).toHaveLength(3);
      expect((await outbox.forAlert('A1')).map((n) => [n.level, n.userId, n.channelId])).toEqual([
        [0, 'u1', 'sms'],
        [0, 'u1', 'wecom'],
        [0, null, 'robot'],
        [0, 'u2', 'sms'],
        [1, 'u1', 'sms'],
      ]);
      expect(await outbox.depth()).toBe(6);
    });

    it('commits and rolls back with the caller\'s transaction', async () => {
      await expect(
        t.db.transaction(async (trx) => {
          await outbox.insert(trx, [row()]);
          expect(await outbox.forAlert('A1', trx)).toHaveLength(1);
          throw new Error('the alert transition failed');
        }),
      ).rejects.toThrow('the alert transition failed');
      expect(await outbox.forAlert('A1')).toEqual([]);
      await t.db.transaction((trx) => outbox.insert(trx, [row()]));
      expect(await outbox.forAlert('A1')).toHaveLength(1);
    });

    it('gives due rows in due order; a claim is won once; a retry keeps the id; sent and failed are final', async () => {
      const [a, b, c] = await outbox.insert(t.db.db, [row({ at: 3_000 }), row({ userId: 'u2', at: 1_000 }), row({ userId: 'u3', at: 9_000 })]);
      expect((await outbox.due(5_000, 10)).map((n) => n.id)).toEqual([b!.id, a!.id]);
      expect(await outbox.nextDueAt()).toBe(1_000);
      expect(await outbox.claim(b!.id, 5_000)).toBe(true);
      expect(await outbox.claim(b!.id, 5_000)).toBe(false); // another dispatcher took it
      expect((await outbox.due(5_000, 10)).map((n) => n.id)).toEqual([a!.id]);
      await outbox.retry(b!.id, 7_000, { code: 'RB_ERR_NOTIFY_UNAVAILABLE', message: 'HTTP 500' });
      let got = (await outbox.forAlert('A1')).find((n) => n.id === b!.id)!;
      expect(got).toMatchObject({ state: 'queued', attempts: 1, nextAt: 7_000, error: { code: 'RB_ERR_NOTIFY_UNAVAILABLE', message: 'HTTP 500' } });
      expect(await outbox.claim(b!.id, 7_000)).toBe(true);
      await outbox.sent(b!.id, { state: 'sent', providerId: 'biz-1' }, 7_100);
      got = (await outbox.forAlert('A1')).find((n) => n.id === b!.id)!;
      expect(got).toMatchObject({ state: 'sent', attempts: 2, sentAt: 7_100, providerId: 'biz-1', error: null });
      expect(await outbox.delivered(b!.id, 8_000)).toBe(true);
      expect((await outbox.forAlert('A1')).find((n) => n.id === b!.id)).toMatchObject({ state: 'delivered', deliveredAt: 8_000 });
      expect(await outbox.claim(a!.id, 5_000)).toBe(true);
      await outbox.fail(a!.id, { code: 'RB_ERR_NOTIFY_AUTH', message: 'x'.repeat(2000) }, 5_500);
      got = (await outbox.forAlert('A1')).find((n) => n.id === a!.id)!;
      expect(got.state).toBe('failed');
      expect(got.error!.message.length).toBeLessThanOrEqual(500);
      expect(await outbox.claim(a!.id, 6_000)).toBe(false);
      expect(await outbox.skip(c!.id, { code: 'RB_ERR_NOTIFY_NOT_NEEDED', message: 'acknowledged' }, 6_000)).toBe(true);
      expect(await outbox.skip(a!.id, { code: 'RB_ERR_NOTIFY_NOT_NEEDED', message: 'acknowledged' }, 6_000)).toBe(false); // failed stays failed
      expect(await outbox.depth()).toBe(0);
      expect(await outbox.nextDueAt()).toBeNull();
    });

    it('sends again what a crash left sending, with the same id', async () => {
      const [a, b] = await outbox.insert(t.db.db, [row(), row({ userId: 'u2' })]);
      expect(await outbox.claim(a!.id, 2_000)).toBe(true);
      expect(await outbox.claim(b!.id, 2_000)).toBe(true);
      await outbox.sent(b!.id, { state: 'sent' }, 2_100);
      // The process dies here. A new outbox on the same database:
      const restarted = createNotificationOutbox(t.db);
      expect(await restarted.recover(3_000)).toBe(1);
      const due = await restarted.due(3_000, 10);
      expect(due.map((n) => [n.id, n.state, n.attempts])).toEqual([[a!.id, 'queued', 1]]);
      expect(await restarted.recover(3_000)).toBe(0);
    });

    it('records skipped and edge rows as given, and a fallback flag', async () => {
      const [s, e, f] = await outbox.insert(t.db.db, [
        row({ state: 'skipped', error: { code: 'RB_ERR_NOTIFY_CAPPED', message: 'over notify.maxPerAlert' } }),
        row({ userId: 'u2', channelId: 'edge-gw', channelType: 'edge', address: null, state: 'sent', atEdge: true }),
        row({ userId: 'u3', channelId: 'voice', fallback: true }),
      ]);
      expect(s).toMatchObject({ state: 'skipped', error: { code: 'RB_ERR_NOTIFY_CAPPED' } });
      expect(e).toMatchObject({ state: 'sent', atEdge: true, address: null, sentAt: 1_000 });
      expect(f).toMatchObject({ state: 'queued', fallback: true });
      expect(await outbox.depth()).toBe(1);
    });
  });
}
