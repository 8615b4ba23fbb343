import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAlertStore } from '../../../hub/alerts/store.js';
import { newestNotifiedOpen } from '../../../hub/notify/acknowledge.js';
import { createContactBook, type ContactStore, type ContactStoreDeps } from '../../../hub/notify/contacts.js';
import { createPeopleChanges } from '../../../hub/people/changes.js';
import { createUsers, type Users } from '../../../hub/people/users.js';
import { ulid } from 'ulid';
import { waitFor } from '../../support/hub.js';
import type { DatabaseFactory, DatabaseUnderTest } from './support.js';

const TZ = 'Asia/Shanghai';
/** 2026-12-07 in Shanghai (UTC+8): local HH:MM → ms. */
const local = (hm: string): number => Date.parse(`2026-12-07T${hm}:00+08:00`);
const CHANNELS = [
  { id: 'aliyun', accepts: ['phone'] as const },
  { id: 'voice', accepts: ['phone'] as const },
  { id: 'wecom-app', accepts: ['wecom-user'] as const },
  { id: 'robot-a', accepts: ['group'] as const },
  { id: 'robot-grid', accepts: ['group'] as const },
];
const ESTATES: Record<string, { id: string; grid: string | null; street: string | null; name: string | null }> = {
  'estate-a': { id: 'estate-a', grid: 'grid-1', street: 'street-1', name: '枫林苑' },
  'estate-b': { id: 'estate-b', grid: null, street: 'street-1', name: '桂花园' },
};

/**
 * The contact book's contract on every engine of the hub database: addresses validated and stored
 * normalised, routes in the person's order with their severity filters and quiet hours, phone
 * lookups across spellings, group robots of an estate and its grid, and writes of another process
 * reaching the in-memory copy through the people change journal.
 */
export function describeContacts(engine: string, factory: DatabaseFactory): void {
  describe(`contact book on ${engine}`, () => {
    let t: DatabaseUnderTest;
    let users: Users;
    const books: ContactStore[] = [];
    const open = async (extra: Partial<ContactStoreDeps> = {}): Promise<ContactStore> => {
      const book = createContactBook({ db: t.db, timeZone: TZ, users, registry: { getEstate: (id: string) => ESTATES[id] as never }, channels: () => CHANNELS, pollMs: 50, ...extra });
      books.push(book);
      await book.start();
      return book;
    };
    beforeEach(async () => {
      t = await factory();
      users = createUsers({ db: t.db, changes: createPeopleChanges({ db: t.db, onChanges: () => undefined }) });
    });
    afterEach(async () => {
      for (const b of books.splice(0)) b.close();
      await t.cleanup();
    });
    const user = async (name: string) => (await users.add({ name, role: 'volunteer', scopes: ['estate:estate-a'] })).id;

    it('stores numbers normalised and routes in order, by severity, with fallbacks and the language of the policy', async () => {
      const book = await open();
      const li = await user('li');
      const sms = await book.add(li, { kind: 'phone', channelId: 'aliyun', address: ' 138-1234-5678 ', minSeverity: 2 });
      expect(sms.address).toBe('+8613812345678');
      const voice = await book.add(li, { kind: 'phone', channelId: 'voice', address: '0086 13812345678', minSeverity: 3, fallback: true });
      expect(voice.address).toBe('+8613812345678');
      await book.add(li, { kind: 'wecom-user', channelId: 'wecom-app', address: 'LiLei' });
      expect(book.list(li).map((p) => [p.channelId, p.position])).toEqual([['aliyun', 0], ['voice', 1], ['wecom-app', 2]]);

      expect(book.routesFor(li, 1, local('12:00'))).toEqual([{ channelId: 'wecom-app', address: { kind: 'wecom-user', userId: 'LiLei' }, lang: 'zh-CN', fallback: false }]);
      expect(book.routesFor(li, 3, local('12:00'))).toEqual([
        { channelId: 'aliyun', address: { kind: 'phone', phone: '+8613812345678' }, lang: 'zh-CN', fallback: false },
        { channelId: 'voice', address: { kind: 'phone', phone: '+8613812345678' }, lang: 'zh-CN', fallback: true },
        { channelId: 'wecom-app', address: { kind: 'wecom-user', userId: 'LiLei' }, lang: 'zh-CN', fallback: false },
      ]);
      // Reordered: the WeCom message first.
      await book.update(book.list(li)[2]!.id, { position: 0 });
      await book.update(sms.id, { position: 1 });
      await book.update(voice.id, { position: 2 });
      await book.setPolicy(li, { lang: 'en' });
      expect(book.routesFor(li, 4, local('12:00')).map((r) => [r.channelId, r.lang])).toEqual([['wecom-app', 'en'], ['aliyun', 'en'], ['voice', 'en']]);
      expect(book.routesFor('nobody', 4, local('12:00'))).toEqual([]);
    });

    it('keeps quiet hours (crossing midnight, in the hub time zone) except for severity 3 and above', async () => {
      const book = await open();
      const li = await user('li');
      await book.add(li, { kind: 'phone', channelId: 'aliyun', address: '13812345678' });
      const pol = await book.setPolicy(li, { quietHours: { from: '22:00', to: '07:00' }, lang: 'zh-CN' });
      expect(pol.quietHours).toEqual({ from: '22:00', to: '07:00' });
      expect(book.routesFor(li, 2, local('23:30'))).toEqual([]);
      expect(book.routesFor(li, 2, local('06:59'))).toEqual([]);
      expect(book.routesFor(li, 2, local('07:00'))).toHaveLength(1);
      expect(book.routesFor(li, 2, local('21:59'))).toHaveLength(1);
      expect(book.routesFor(li, 3, local('03:00'))).toHaveLength(1);
      await book.setPolicy(li, { quietHours: null });
      expect(book.routesFor(li, 1, local('03:00'))).toHaveLength(1);
      expect(book.policy('someone-else')).toEqual({ userId: 'someone-else', quietHours: null, lang: 'zh-CN', updatedAt: null });
    });

    it('finds the enabled user of a number however it is spelled; a shared or unknown number finds nobody', async () => {
      const book = await open();
      const li = await user('li');
      const wang = await user('wang');
      await book.add(li, { kind: 'phone', channelId: 'aliyun', address: '+86 138 1234 5678' });
      for (const spelling of ['13812345678', '+8613812345678', '008613812345678', '8613812345678', '+86-138-1234-5678']) expect(book.userByPhone(spelling)).toBe(li);
      expect(book.userByPhone('13812345679')).toBeUndefined();
      expect(book.userByPhone('not a number')).toBeUndefined();
      await book.add(wang, { kind: 'phone', channelId: 'aliyun', address: '+447700900123' });
      expect(book.userByPhone('00447700900123')).toBe(wang);
      // Shared: nobody can be told apart.
      const shared = await book.add(wang, { kind: 'phone', channelId: 'voice', address: '13812345678' });
      expect(book.userByPhone('13812345678')).toBeUndefined();
      await book.remove(shared.id);
      expect(book.userByPhone('13812345678')).toBe(li);
      await users.disable(li);
      expect(book.userByPhone('13812345678')).toBeUndefined();
      expect(book.routesFor(li, 4, local('12:00'))).toEqual([]);
    });

    it('refuses what is not a number, a user id, a configured channel or a kind the channel takes; a duplicate conflicts', async () => {
      const book = await open();
      const li = await user('li');
      const refused = async (input: unknown, code: string, text: RegExp) => {
        const err = (await book.add(li, input as never).catch((e: unknown) => e)) as { code: string; message: string };
        expect(err.code).toBe(code);
        expect(err.message).toMatch(text);
      };
      await refused({ kind: 'phone', channelId: 'aliyun', address: '12345' }, 'RB_ERR_BAD_BODY', /phone number/);
      await refused({ kind: 'phone', channelId: 'aliyun', address: '+86 10 6552 9988' }, 'RB_ERR_BAD_BODY', /phone number/); // a Beijing landline takes no SMS
      await refused({ kind: 'phone', channelId: 'aliyun', address: '138123456780000000000' }, 'RB_ERR_BAD_BODY', /phone number/);
      await refused({ kind: 'wecom-user', channelId: 'wecom-app', address: '<script>' }, 'RB_ERR_BAD_BODY', /WeCom user id/);
      await refused({ kind: 'phone', channelId: 'nowhere', address: '13812345678' }, 'RB_ERR_BAD_BODY', /notify\.channels/);
      await refused({ kind: 'phone', channelId: 'wecom-app', address: '13812345678' }, 'RB_ERR_BAD_BODY', /does not send to phone/);
      await refused({ kind: 'phone', channelId: 'aliyun', address: '13812345678', extra: 1 }, 'RB_ERR_BAD_BODY', /extra|Unrecognized/i);
      await refused({ kind: 'phone', channelId: 'aliyun', address: '13812345678', minSeverity: 9 }, 'RB_ERR_BAD_BODY', /minSeverity/);
      await book.add(li, { kind: 'phone', channelId: 'aliyun', address: '13812345678' });
      await refused({ kind: 'phone', channelId: 'aliyun', address: '+8613812345678' }, 'RB_ERR_CONFLICT', /exists/);
      const p = book.list(li)[0]!;
      await expect(book.update(p.id, { address: 'abc' })).rejects.toMatchObject({ code: 'RB_ERR_BAD_BODY' });
      expect((await book.update(p.id, { address: '13900001111' })).address).toBe('+8613900001111');
      await expect(book.update('01NOPE', { minSeverity: 2 })).rejects.toMatchObject({ code: 'RB_ERR_NOT_FOUND' });
      await expect(book.setPolicy(li, { quietHours: { from: '25:00', to: '07:00' } })).rejects.toMatchObject({ code: 'RB_ERR_BAD_BODY' });
    });

    it("routes an estate's robots and its grid's, each channel once, by severity", async () => {
      const book = await open();
      const a = await book.addRobot({ scope: 'estate:estate-a', channelId: 'robot-a', minSeverity: 2 });
      await book.addRobot({ scope: 'grid:grid-1', channelId: 'robot-grid', minSeverity: 3 });
      await book.addRobot({ scope: 'grid:grid-1', channelId: 'robot-a' });
      await expect(book.addRobot({ scope: 'estate:estate-a', channelId: 'aliyun' })).rejects.toMatchObject({ code: 'RB_ERR_BAD_BODY' });
      await expect(book.addRobot({ scope: 'street:street-1', channelId: 'robot-a' })).rejects.toMatchObject({ code: 'RB_ERR_BAD_BODY' });
      await expect(book.addRobot({ scope: 'estate:estate-a', channelId: 'robot-a' })).rejects.toMatchObject({ code: 'RB_ERR_CONFLICT' });
      const ids = (estate: string, sev: number) => book.groupRoutes(estate, sev).map((r) => r.channelId);
      expect(ids('estate-a', 3)).toEqual(['robot-a', 'robot-grid']);
      expect(ids('estate-a', 1)).toEqual(['robot-a']); // the grid's robot-a takes severity 1
      expect(ids('estate-b', 4)).toEqual([]);
      expect(book.groupRoutes('estate-a', 4)[0]).toEqual({ channelId: 'robot-a', address: { kind: 'group' }, lang: 'zh-CN', fallback: false });
      await book.updateRobot(a.id, { minSeverity: 4 });
      expect(ids('estate-a', 3)).toEqual(['robot-grid', 'robot-a']);
      await book.removeRobot(a.id);
      expect(book.robots('estate:estate-a')).toEqual([]);
    });

    it('joins routes of other sources after the person’s own, under the same policy', async () => {
      const push = { channelId: 'webpush', address: { kind: 'push' as const, subscription: { endpoint: 'https://push.example/1', keys: { p256dh: 'k', auth: 'a' } } } };
      const zhao = await user('zhao');
      const book = await open({ sources: [(u) => (u === zhao ? [push] : [])] });
      const li = await user('li');
      const off = book.addSource((u) => (u === li ? [{ ...push, minSeverity: 3, fallback: true }] : []));
      await book.add(li, { kind: 'phone', channelId: 'aliyun', address: '13812345678' });
      expect(book.routesFor(li, 2, local('12:00')).map((r) => r.channelId)).toEqual(['aliyun']);
      expect(book.routesFor(li, 3, local('12:00')).map((r) => [r.channelId, r.fallback])).toEqual([['aliyun', false], ['webpush', true]]);
      expect(book.routesFor(zhao, 1, local('12:00'))).toEqual([{ ...push, lang: 'zh-CN', fallback: false }]);
      expect(book.routesFor('unknown-user', 4, local('12:00'))).toEqual([]);
      off();
      expect(book.routesFor(li, 3, local('12:00')).map((r) => r.channelId)).toEqual(['aliyun']);
    });

    it("sees another process's writes through the change journal", async () => {
      const hub = await open();
      const cli = await open({ watch: false });
      const li = await user('li');
      await cli.add(li, { kind: 'phone', channelId: 'aliyun', address: '13812345678' });
      await cli.setPolicy(li, { lang: 'en' });
      await cli.addRobot({ scope: 'estate:estate-b', channelId: 'robot-a' });
      expect(await waitFor(() => hub.userByPhone('13812345678') === li && hub.policy(li).lang === 'en' && hub.groupRoutes('estate-b', 1).length === 1, 5_000)).toBe(true);
      expect(hub.routesFor(li, 1, local('12:00'))).toEqual([{ channelId: 'aliyun', address: { kind: 'phone', phone: '+8613812345678' }, lang: 'en', fallback: false }]);
    });
    it("finds a person's newest open alert they were notified about (SMS replies), by estate", async () => {
      const store = createAlertStore({ db: t.db });
      await store.load();
      let n = 0;
      const raise = async (estate: string, at: number, actors: string[]) => {
        n += 1;
        const { alert } = await store.raise({ type: 'raise', rule: 'door.forced', estate, gateway: 'gw', device: `d${n}`, key: `k${n}`, severity: 3, at, eventId: ulid(at), data: {} });
        await store.notified(alert.id, { at, level: 0, reason: 'new', actors: actors.map((a) => `user:${a}`) });
        return alert.id;
      };
      const a1 = await raise('estate-a', 1000, ['li']);
      const a2 = await raise('estate-a', 2000, ['li', 'wang']);
      const b1 = await raise('estate-b', 3000, ['li']);
      await raise('estate-a', 4000, ['wang']);
      expect(await newestNotifiedOpen(t.db, 'li', ['estate-a'])).toBe(a2);
      expect(await newestNotifiedOpen(t.db, 'li', ['estate-a', 'estate-b'])).toBe(b1);
      expect(await newestNotifiedOpen(t.db, 'li', [])).toBeUndefined();
      await store.acknowledge(a2, 'user:wang');
      expect(await newestNotifiedOpen(t.db, 'li', ['estate-a'])).toBe(a1);
      // Notified again at a higher level: the escalation's row makes it the newest.
      await store.notified(a1, { at: 5000, level: 1, reason: 'escalated', actors: ['user:li'] });
      expect(await newestNotifiedOpen(t.db, 'li', ['estate-a', 'estate-b'])).toBe(a1);
      await store.resolve(a1, 'system', 'gone');
      expect(await newestNotifiedOpen(t.db, 'li', ['estate-a'])).toBeUndefined();
      expect(await newestNotifiedOpen(t.db, 'nobody', ['estate-a', 'estate-b'])).toBeUndefined();
    });
  });
}
