import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContactRoute } from '../../../hub/notify/types.js';
import type { User } from '../../../hub/people/users.js';
import { startTestHub, type TestHub } from '../../support/hub.js';

const CHANNELS = [
  { id: 'aliyun', type: 'sms-aliyun', accepts: ['phone'] as const },
  { id: 'wecom-app', type: 'wecom-app', accepts: ['wecom-user'] as const },
  { id: 'robot-a', type: 'wecom-robot', accepts: ['group'] as const },
];

/**
 * Contacts REST on a real hub: who may read and write whose contact points, numbers masked for
 * volunteers, validation, robots by scope, "send a test" through the injected outbox function, and
 * every write audited with masked addresses.
 */
describe('contacts REST', () => {
  let t: TestHub;
  const tests: Array<{ route: ContactRoute; user: string | null; actor: string }> = [];
  const u: Record<string, { id: string; token: string }> = {};
  beforeAll(async () => {
    t = await startTestHub({
      notify: {
        channels: () => CHANNELS,
        sendTest: async (route, user: User | null, ctx) => {
          tests.push({ route, user: user?.id ?? null, actor: ctx.actor });
          return { id: `test-${tests.length}` };
        },
      },
    });
    await t.hub.registry.addStreet('street-1');
    await t.hub.registry.addGrid('grid-1', { street: 'street-1' });
    await t.hub.registry.addEstate('estate-a', { grid: 'grid-1' });
    await t.hub.registry.addEstate('estate-b', { street: 'street-1' });
    u.li = await t.addUser({ name: 'li', role: 'volunteer', scopes: ['estate:estate-a'] });
    u.wang = await t.addUser({ name: 'wang', role: 'volunteer', scopes: ['estate:estate-a'] });
    u.far = await t.addUser({ name: 'far', role: 'volunteer', scopes: ['estate:estate-b'] });
    u.center = await t.addUser({ name: 'center', role: 'center', scopes: ['street:street-1'] });
    u.adminB = await t.addUser({ name: 'admin-b', role: 'admin', scopes: ['estate:estate-b'] });
  }, 60_000);
  afterAll(() => t?.stop());

  it('a person adds their own phone; others of the estate see it masked, the center whole; strangers not at all', async () => {
    const add = await t.api('POST', `/api/v1/users/${u.li!.id}/contacts`, { token: u.li!.token, body: { kind: 'phone', channelId: 'aliyun', address: '138 1234 5678', minSeverity: 2 } });
    expect(add.status).toBe(201);
    expect(add.json).toMatchObject({ kind: 'phone', channelId: 'aliyun', channelType: 'sms-aliyun', address: '+8613812345678', masked: false, minSeverity: 2, fallback: false, position: 0 });
    const own = await t.api('GET', `/api/v1/users/${u.li!.id}/contacts`, { token: u.li!.token });
    expect((own.json.items as Array<{ address: string }>)[0]!.address).toBe('+8613812345678');
    const other = await t.api('GET', `/api/v1/users/${u.li!.id}/contacts`, { token: u.wang!.token });
    expect(other.status).toBe(200);
    expect(other.json.items).toEqual([expect.objectContaining({ address: '138****5678', masked: true })]);
    expect(JSON.stringify(other.json)).not.toContain('12345678');
    const center = await t.api('GET', `/api/v1/users/li/contacts`, { token: u.center!.token });
    expect((center.json.items as Array<{ address: string }>)[0]!.address).toBe('+8613812345678');
    expect((await t.api('GET', `/api/v1/users/${u.li!.id}/contacts`, { token: u.far!.token })).status).toBe(404);
    expect((await t.api('GET', `/api/v1/users/${u.li!.id}/contacts`, { token: null })).status).toBe(401);
    // The copy the alert path reads has it at once.
    expect(t.hub.contacts.contacts.userByPhone('+86 13812345678')).toBe(u.li!.id);
  });

  it("a volunteer cannot change another's; a center can; bad input is refused with the field named", async () => {
    const forbidden = await t.api('POST', `/api/v1/users/${u.li!.id}/contacts`, { token: u.wang!.token, body: { kind: 'phone', channelId: 'aliyun', address: '13900000000' } });
    expect(forbidden.status).toBe(403);
    const bad = await t.api('POST', `/api/v1/users/${u.wang!.id}/contacts`, { token: u.wang!.token, body: { kind: 'phone', channelId: 'aliyun', address: '110' } });
    expect(bad.status).toBe(400);
    expect((bad.json.error as { message: string }).message).toMatch(/^address: a phone number/);
    const kind = await t.api('POST', `/api/v1/users/${u.wang!.id}/contacts`, { token: u.wang!.token, body: { kind: 'phone', channelId: 'wecom-app', address: '13900000000' } });
    expect(kind.status).toBe(400);
    const ok = await t.api('POST', `/api/v1/users/${u.wang!.id}/contacts`, { token: u.center!.token, body: { kind: 'wecom-user', channelId: 'wecom-app', address: 'WangWei' } });
    expect(ok.status).toBe(201);
    const id = ok.json.id as string;
    const upd = await t.api('PUT', `/api/v1/users/${u.wang!.id}/contacts/${id}`, { token: u.wang!.token, body: { minSeverity: 3, fallback: true } });
    expect(upd.json).toMatchObject({ minSeverity: 3, fallback: true, address: 'WangWei' });
    // Another person's point id under this person's path is not found.
    expect((await t.api('DELETE', `/api/v1/users/${u.li!.id}/contacts/${id}`, { token: u.center!.token })).status).toBe(404);
    const del = await t.api('DELETE', `/api/v1/users/${u.wang!.id}/contacts/${id}`, { token: u.wang!.token });
    expect(del.status).toBe(200);
    expect(t.hub.contacts.contacts.list(u.wang!.id)).toEqual([]);
  });

  it('policy: quiet hours and language, read and written by the person', async () => {
    const put = await t.api('PUT', `/api/v1/users/${u.li!.id}/contact-policy`, { token: u.li!.token, body: { quietHours: { from: '22:30', to: '06:30' }, lang: 'en' } });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ quietHours: { from: '22:30', to: '06:30' }, lang: 'en' });
    expect((await t.api('GET', `/api/v1/users/${u.li!.id}/contact-policy`, { token: u.wang!.token })).json).toMatchObject({ lang: 'en' });
    expect((await t.api('PUT', `/api/v1/users/${u.li!.id}/contact-policy`, { token: u.li!.token, body: { quietHours: { from: '7', to: '8' } } })).status).toBe(400);
    expect((await t.api('PUT', `/api/v1/users/${u.li!.id}/contact-policy`, { token: u.wang!.token, body: { lang: 'zh-CN' } })).status).toBe(403);
  });

  it('send a test queues through the outbox function with the person’s language; audited with the number masked', async () => {
    const point = (t.hub.contacts.contacts.list(u.li!.id)[0])!;
    const res = await t.api('POST', `/api/v1/users/${u.li!.id}/contacts/${point.id}/test`, { token: u.center!.token });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ queued: true, id: `test-${tests.length}`, channelId: 'aliyun', to: '138****5678' });
    expect(tests.at(-1)).toEqual({ route: { channelId: 'aliyun', address: { kind: 'phone', phone: '+8613812345678' }, lang: 'en', fallback: false }, user: u.li!.id, actor: `user:${u.center!.id}` });
    const audit = await t.hub.audit.query({ action: 'contact.test' });
    expect(audit.items[0]).toMatchObject({ actor: `user:${u.center!.id}`, target: `user:${u.li!.id}`, detail: { channelId: 'aliyun', address: '138****5678', notification: `test-${tests.length}` } });
    const adds = await t.hub.audit.query({ action: 'contact.add' });
    expect(adds.items.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(adds.items)).not.toContain('13812345678');
  });

  it('robots: a center manages its estates’ and grids’; an admin elsewhere cannot; a test goes to the group', async () => {
    const add = await t.api('POST', '/api/v1/notify/robots', { token: u.center!.token, body: { scope: 'estate:estate-a', channelId: 'robot-a', minSeverity: 2 } });
    expect(add.status).toBe(201);
    expect((await t.api('POST', '/api/v1/notify/robots', { token: u.center!.token, body: { scope: 'grid:grid-1', channelId: 'robot-a' } })).status).toBe(201);
    expect((await t.api('POST', '/api/v1/notify/robots', { token: u.adminB!.token, body: { scope: 'estate:estate-a', channelId: 'robot-a' } })).status).toBe(403);
    expect((await t.api('POST', '/api/v1/notify/robots', { token: u.li!.token, body: { scope: 'estate:estate-a', channelId: 'robot-a' } })).status).toBe(403);
    expect((await t.api('POST', '/api/v1/notify/robots', { token: u.center!.token, body: { scope: 'estate:estate-a', channelId: 'aliyun' } })).status).toBe(400);
    const list = await t.api('GET', '/api/v1/notify/robots?estate=estate-a', { token: u.li!.token });
    expect((list.json.items as Array<{ scope: string }>).map((r) => r.scope)).toEqual(['estate:estate-a', 'grid:grid-1']);
    expect((await t.api('GET', '/api/v1/notify/robots?estate=estate-a', { token: u.adminB!.token })).status).toBe(403);
    expect(t.hub.contacts.contacts.groupRoutes('estate-a', 3).map((r) => r.channelId)).toEqual(['robot-a']);
    const test = await t.api('POST', `/api/v1/notify/robots/${add.json.id as string}/test`, { token: u.center!.token });
    expect(test.status).toBe(202);
    expect(tests.at(-1)).toEqual({ route: { channelId: 'robot-a', address: { kind: 'group' }, lang: 'zh-CN', fallback: false }, user: null, actor: `user:${u.center!.id}` });
    const del = await t.api('DELETE', `/api/v1/notify/robots/${add.json.id as string}`, { token: u.center!.token });
    expect(del.status).toBe(200);
    expect((await t.hub.audit.query({ action: 'robot.remove' })).items[0]).toMatchObject({ estate: 'estate-a', target: `robot:${add.json.id as string}` });
  });

  it('lists the configured channels without anything but id, type and kinds', async () => {
    const res = await t.api('GET', '/api/v1/notify/channels', { token: u.li!.token });
    expect(res.json).toEqual({ items: CHANNELS.map((c) => ({ ...c, accepts: [...c.accepts] })) });
  });
});
