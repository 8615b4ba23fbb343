import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAckLinks } from '../../../hub/notify/ack-links.js';
import { loadSigningKey } from '../../../hub/people/signing-key.js';
import type { HubDatabase } from '../../../hub/platform/db/index.js';
import { startAckWorld, type AckWorld } from './ack-world.js';

/**
 * One-tap acknowledge links on a real hub: the page (no login, no script, its own CSP), the POST
 * that acknowledges through the alert service (audited with the person and the channel), an
 * acknowledged alert saying so, and refusals (forged, expired, wrong purpose, other estate,
 * too many requests) with their codes, counted by reason.
 */
describe('ack links', () => {
  let w: AckWorld;
  let links: ReturnType<typeof createAckLinks>;
  let db: HubDatabase;
  let key: Uint8Array;
  beforeAll(async () => {
    w = await startAckWorld({ links: { publicUrl: 'https://rb.example.gov.cn/', ackLinkTtl: '30m' } });
    // The hub's own key, read from its database as another hub process would.
    db = await w.t.openDatabase();
    key = await loadSigningKey(db);
    links = createAckLinks({ key, publicUrl: w.t.httpUrl, ttl: '30m' });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await w?.t.stop();
  });
  const path = (token: string) => `${w.t.httpUrl}/a/${token}`;
  const refused = (reason: string) => w.t.metric('rb_notify_ack_link_refused_total', { reason });

  it('the hub signs {publicUrl}/a/{token} for one alert, one person, one channel; a login token is not one', async () => {
    const url = await w.t.hub.contacts.ackLinks.url('01ALERT', w.li.id, 'aliyun');
    expect(url).toMatch(/^https:\/\/rb\.example\.gov\.cn\/a\/[\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = await links.verify(url.slice(url.lastIndexOf('/') + 1));
    expect(claims).toMatchObject({ alertId: '01ALERT', userId: w.li.id, channelId: 'aliyun' });
    expect(claims.expiresAt - Date.now()).toBeGreaterThan(29 * 60_000);
    expect(claims.expiresAt - Date.now()).toBeLessThanOrEqual(30 * 60_000);
    // The ack token is no login either.
    expect((await w.t.api('GET', '/api/v1/me', { token: url.slice(url.lastIndexOf('/') + 1) })).status).toBe(401);
  });

  it('GET shows the alert and a 确认 button without a login; POST acknowledges it as the person, audited with the channel', async () => {
    const alert = await w.alert({ notified: [w.li.id] });
    const token = await links.sign(alert.id, w.li.id, 'aliyun');
    const page = await fetch(path(token));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; style-src 'sha256-/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain('枫林苑');
    expect(html).toContain('门被强行打开');
    expect(html).toContain('Door forced open');
    expect(html).toContain(`<form method="post" action="/a/${token}"><button type="submit">确认 Acknowledge</button></form>`);
    expect(html).not.toMatch(/<script/i);
    // GET alone never acknowledges (link previews fetch it).
    expect((await w.t.hub.alertStore.get(alert.id))!.state).toBe('open');

    const post = await fetch(path(token), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(post.status).toBe(200);
    expect(await post.text()).toContain('已确认，谢谢');
    const after = (await w.t.hub.alertStore.get(alert.id))!;
    expect(after).toMatchObject({ state: 'acknowledged', acknowledgedBy: `user:${w.li.id}` });
    const audit = (await w.t.hub.audit.query({ action: 'alert.ack', estate: 'estate-a' })).items[0];
    expect(audit).toMatchObject({ actor: `user:${w.li.id}`, target: `alert:${alert.id}`, detail: { changed: true, channel: 'link', channelId: 'aliyun' } });
    expect(await w.t.metric('rb_notify_remote_acks_total', { via: 'link', result: 'acknowledged' })).toBe(1);

    // Again: already acknowledged, not an error (JSON for a client that asks, e.g. the push action).
    const again = await fetch(path(token), { method: 'POST', headers: { accept: 'application/json' } });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ result: 'already', alert: { id: alert.id, state: 'acknowledged', acknowledgedByName: '李雷' } });
    const page2 = await (await fetch(path(token))).text();
    expect(page2).toContain('已确认（李雷）');
    expect(page2).not.toContain('<form');
  });

  it('a resolved alert says so', async () => {
    const alert = await w.alert({ notified: [w.li.id] });
    await w.t.hub.alerts.resolve(alert.id, 'system', 'done');
    const res = await fetch(path(await links.sign(alert.id, w.li.id, 'aliyun')), { method: 'POST', headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ result: 'resolved' });
  });

  it('refuses forged, expired, wrong-purpose and other-estate links with a clear page and code, and counts them', async () => {
    const alert = await w.alert({ notified: [w.li.id] });
    const good = await links.sign(alert.id, w.li.id, 'aliyun');
    const check = async (token: string, status: number, code: string, reason: string) => {
      const before = await refused(reason);
      const html = await fetch(path(token), { method: 'POST' });
      expect(html.status).toBe(status);
      const text = await html.text();
      expect(text).toContain(code);
      expect(text).toContain('无法确认');
      const json = await fetch(path(token), { headers: { accept: 'application/json' } });
      expect(json.status).toBe(status);
      expect(((await json.json()) as { error: { code: string } }).error.code).toBe(code);
      expect(await refused(reason)).toBe(before + 2);
    };
    // Forged: another key, an altered payload, not a JWT at all.
    const other = createAckLinks({ key: new Uint8Array(32).fill(7), publicUrl: 'x', ttl: '30m' });
    await check(await other.sign(alert.id, w.li.id, 'aliyun'), 403, 'RB_ERR_ACK_LINK_INVALID', 'forged');
    const [h, p, s] = good.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    await check(`${h}.${Buffer.from(JSON.stringify({ ...claims, sub: w.far.id })).toString('base64url')}.${s}`, 403, 'RB_ERR_ACK_LINK_INVALID', 'forged');
    await check('not-a-token', 403, 'RB_ERR_ACK_LINK_INVALID', 'forged');
    // Expired: signed 31 minutes ago with a 30-minute life.
    const past = createAckLinks({ key, publicUrl: 'x', ttl: '30m', now: () => Date.now() - 31 * 60_000 });
    await check(await past.sign(alert.id, w.li.id, 'aliyun'), 410, 'RB_ERR_ACK_LINK_EXPIRED', 'expired');
    // A login token of the same person, signed with the same key: not an acknowledge link.
    await check(w.li.token, 403, 'RB_ERR_ACK_LINK_INVALID', 'wrong-purpose');
    // The person of the link does not cover the alert's estate.
    await check(await links.sign(alert.id, w.far.id, 'aliyun'), 403, 'RB_ERR_FORBIDDEN', 'out-of-scope');
    await check(await links.sign('01KNOWNOTHING0000000000000', w.li.id, 'aliyun'), 404, 'RB_ERR_NOT_FOUND', 'unknown-alert');
    expect((await w.t.hub.alertStore.get(alert.id))!.state).toBe('open');
  });
});

describe('ack links rate limit', () => {
  let w: AckWorld;
  beforeAll(async () => {
    w = await startAckWorld({ links: { ackRateLimit: 3 } });
  }, 60_000);
  afterAll(() => w?.t.stop());

  it('refuses the fourth request of a minute from one address with 429, counted', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${w.t.httpUrl}/a/not-a-token`)).status);
    expect(statuses).toEqual([403, 403, 403, 429, 429]);
    expect(await w.t.metric('rb_notify_ack_link_refused_total', { reason: 'rate-limited' })).toBe(2);
  });
});
