import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../../support/hub.js';
import { qrOf } from './qr.js';
import { followPathOf, phoneJpeg, post } from './world.js';

/**
 * The resident pages wired into a real hub (hub/main.ts → hub/residents/wire.ts): the real order
 * service and database, `residents.*` and `notify.publicUrl` from the config, counters on /metrics,
 * the poster behind real user tokens.
 */
describe('resident pages on a real hub', () => {
  let hub: TestHub;

  beforeAll(async () => {
    hub = await startTestHub({ config: { residents: { reportsPerAddressPerHour: 3 }, notify: { publicUrl: 'https://rb.example.gov.cn' } } });
    await hub.hub.registry.addEstate('estate-a', { name: '枫林苑' });
    await hub.hub.registry.addEstate('estate-b', { name: '桂花园' });
  }, 60_000);
  afterAll(() => hub?.stop());

  it('serves /r pages before the screens: an unknown estate is its own 404 page, not the app', async () => {
    const res = await fetch(`${hub.httpUrl}/r/estate-z`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('找不到这个小区');
    expect((await fetch(`${hub.httpUrl}/r/estate-a`)).status).toBe(200);
  });

  it('stores a report in the order service, follows it, then answers the flood 429 with Retry-After; all on /metrics', async () => {
    const res = await post(`${hub.httpUrl}/r/estate-a`, { category: 'hazard', description: '消防通道被堵<b>', building: '5号楼' }, [{ name: 'p.jpg', type: 'image/jpeg', data: await phoneJpeg() }]);
    expect(res.status).toBe(201);
    const html = await res.text();
    const follow = followPathOf(html);
    expect(html).toContain(`https://rb.example.gov.cn${follow}`);
    const list = await hub.api('GET', '/api/v1/work-orders?estate=estate-a');
    expect((list.json.items as { source: string; category: string; description: string }[]).map((o) => [o.source, o.category, o.description])).toEqual([['resident', 'hazard', '消防通道被堵<b>']]);
    const page = await (await fetch(`${hub.httpUrl}${follow}`)).text();
    expect(page).toContain('消防通道被堵&lt;b&gt;');
    const photo = /<img src="([^"]+)"/.exec(page)?.[1];
    expect((await fetch(`${hub.httpUrl}${photo}`)).headers.get('content-type')).toBe('image/jpeg');
    // A bot: honeypot filled, nothing more stored.
    expect((await post(`${hub.httpUrl}/r/estate-a`, { category: 'other', description: 'buy now', website: 'x' })).status).toBe(200);
    // residents.reportsPerAddressPerHour = 3: the fourth from this address waits.
    expect((await post(`${hub.httpUrl}/r/estate-a`, { category: 'other', description: 'x' })).status).toBe(201);
    const flood = await post(`${hub.httpUrl}/r/estate-a`, { category: 'other', description: 'y' });
    expect(flood.status).toBe(429);
    expect(Number(flood.headers.get('retry-after'))).toBeGreaterThan(3500);
    expect(((await hub.api('GET', '/api/v1/work-orders?estate=estate-a')).json.items as unknown[]).length).toBe(2);
    expect(await hub.metric('rb_resident_reports_accepted_total')).toBe(2);
    expect(await hub.metric('rb_resident_reports_refused_total', { reason: 'honeypot' })).toBe(1);
    expect(await hub.metric('rb_resident_reports_refused_total', { reason: 'rate' })).toBe(1);
  });

  it('serves the poster to a user of the estate, with the QR code of {notify.publicUrl}/r/{estate}', async () => {
    const vol = await hub.addUser({ name: 'vol-a', role: 'volunteer', scopes: ['estate:estate-a'] });
    const get = (path: string, token?: string) => fetch(`${hub.httpUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const png = await get('/api/v1/estates/estate-a/poster.png', vol.token);
    expect(png.status).toBe(200);
    expect(await qrOf(Buffer.from(await png.arrayBuffer()))).toBe('https://rb.example.gov.cn/r/estate-a');
    expect((await get('/api/v1/estates/estate-a/poster.pdf')).status).toBe(401);
    expect((await get('/api/v1/estates/estate-b/poster.pdf', vol.token)).status).toBe(403);
    expect((await get('/api/v1/estates/estate-z/poster.pdf', hub.apiToken)).status).toBe(404);
  });
});
