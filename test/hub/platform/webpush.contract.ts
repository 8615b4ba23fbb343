import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContactBook } from '../../../hub/notify/contacts.js';
import { MAX_PER_USER, createPushSubscriptions, parseSubscription, vapidKeys } from '../../../hub/notify/webpush-store.js';
import type { DatabaseFactory, DatabaseUnderTest } from './support.js';

const P256DH = 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4';
const AUTH = 'BTBZMqHH6r4Tts7J_aSIgg';
const sub = (n: number | string) => ({ endpoint: `https://push.example.net/wpush/v2/${n}`, keys: { p256dh: P256DH, auth: AUTH } });

/** Web Push state (migration 0011_webpush) on every engine of the hub database (STYLE.md §4). */
export function describeWebPush(engine: string, factory: DatabaseFactory): void {
  describe(`web push store on ${engine}`, () => {
    let t: DatabaseUnderTest;
    beforeEach(async () => {
      t = await factory();
    });
    afterEach(async () => {
      await t.cleanup();
    });

    it('makes one VAPID key pair, once, and every reader (another node, a restart) gets the same', async () => {
      const [a, b] = await Promise.all([vapidKeys(t.db), vapidKeys(t.db)]);
      expect(a).toEqual(b);
      expect(Buffer.from(a.publicKey, 'base64url')).toHaveLength(65);
      expect(Buffer.from(a.privateKey, 'base64url')).toHaveLength(32);
      expect(await vapidKeys(t.db)).toEqual(a);
      expect(await t.db.db.selectFrom('hub_keys').select('name').where('name', '=', 'webpush.vapid').execute()).toHaveLength(1);
      // Configured keys win and are not stored.
      expect(await vapidKeys(t.db, { publicKey: 'P', privateKey: 'Q' })).toEqual({ publicKey: 'P', privateKey: 'Q' });
      expect(await vapidKeys(t.db)).toEqual(a);
    });

    it('keeps subscriptions per user, newest first, as push routes; a re-subscribe moves the endpoint; remove and gone drop it', async () => {
      let clock = 1_000;
      const s = createPushSubscriptions({ db: t.db, now: () => clock++ });
      await s.load();
      await s.add('u1', sub(1), 'Mozilla/5.0 (Android)');
      await s.add('u1', sub(2));
      await s.add('u2', sub(3));
      expect(s.list('u1').map((x) => x.endpoint)).toEqual([sub(2).endpoint, sub(1).endpoint]);
      expect(s.list('u1')[1]).toEqual({ endpoint: sub(1).endpoint, userAgent: 'Mozilla/5.0 (Android)', createdAt: 1_000, lastSuccessAt: null });
      expect(s.routesFor('u2', 'pwa', 'en')).toEqual([{ channelId: 'pwa', lang: 'en', fallback: false, address: { kind: 'push', subscription: sub(3) } }]);
      const configured: { id?: string } = {};
      const source = s.source(() => configured.id);
      expect(source('u2')).toEqual([]);
      configured.id = 'pwa';
      expect(source('u2')).toEqual([{ channelId: 'pwa', address: { kind: 'push', subscription: sub(3) } }]);
      // The same browser endpoint signed in as someone else now belongs to them.
      await s.add('u2', sub(1));
      expect(s.list('u1').map((x) => x.endpoint)).toEqual([sub(2).endpoint]);
      await s.succeeded(sub(1).endpoint, 5_000);
      // What another process (a restart) reads back.
      const again = createPushSubscriptions({ db: t.db });
      await again.load();
      expect(again.list('u2')).toEqual(s.list('u2'));
      expect(again.list('u2')[0]!.lastSuccessAt).toBe(5_000);
      // Only the owner removes; a dead one goes for everyone.
      expect(await s.remove('u1', sub(3).endpoint)).toBe(false);
      expect(await s.remove('u2', sub(3).endpoint)).toBe(true);
      await s.gone(sub(2).endpoint);
      await again.load();
      expect(again.list('u1')).toEqual([]);
      expect(again.list('u2').map((x) => x.endpoint)).toEqual([sub(1).endpoint]);
    });

    it("joins the contact book: a person's push routes follow their own points, in their language, and leave it when gone", async () => {
      const subs = createPushSubscriptions({ db: t.db });
      await subs.load();
      const book = createContactBook({ db: t.db, timeZone: 'Asia/Shanghai', watch: false, sources: [subs.source(() => 'pwa')] });
      await book.reload();
      await book.setPolicy('u1', { lang: 'en' });
      expect(book.routesFor('u1', 3, Date.now())).toEqual([]);
      await subs.add('u1', sub(1));
      expect(book.routesFor('u1', 3, Date.now())).toEqual([{ channelId: 'pwa', lang: 'en', fallback: false, address: { kind: 'push', subscription: sub(1) } }]);
      await subs.gone(sub(1).endpoint);
      expect(book.routesFor('u1', 3, Date.now())).toEqual([]);
      book.close();
    });

    it(`keeps at most ${MAX_PER_USER} per user, dropping the oldest`, async () => {
      let clock = 0;
      const s = createPushSubscriptions({ db: t.db, now: () => ++clock });
      await s.load();
      for (let i = 0; i < MAX_PER_USER + 2; i++) await s.add('u1', sub(i));
      expect(s.list('u1')).toHaveLength(MAX_PER_USER);
      expect(s.list('u1').at(-1)!.endpoint).toBe(sub(2).endpoint);
      const again = createPushSubscriptions({ db: t.db });
      await again.load();
      expect(again.list('u1')).toEqual(s.list('u1'));
    });

    it('checks a subscription body: https endpoint (http only to loopback), a P-256 point and a 16-byte secret', () => {
      expect(parseSubscription({ ...sub(1), expirationTime: null })).toMatchObject(sub(1));
      expect(parseSubscription({ ...sub(1), endpoint: 'http://127.0.0.1:8080/push/x' }).endpoint).toBe('http://127.0.0.1:8080/push/x');
      expect(() => parseSubscription({ ...sub(1), endpoint: 'http://10.0.0.5/push/x' })).toThrow(/endpoint must be an https URL/);
      expect(() => parseSubscription({ ...sub(1), keys: { p256dh: AUTH, auth: AUTH } })).toThrow(/keys\.p256dh/);
      expect(() => parseSubscription({ ...sub(1), keys: { p256dh: P256DH, auth: P256DH } })).toThrow(/keys\.auth: keys\.auth must be 16 bytes/);
    });
  });
}
