import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';

/**
 * What the hub serves besides the API (hub/api/app.ts): the app's page on its routes (200) and on any
 * other page a browser asks for (404, the app shows its not-found page), icons on every load, and JSON
 * errors for API paths and JSON clients. Needs the built screens (`npm run build`).
 */
let t: TestHub;
const built = existsSync(new URL('../../dist/hub/web/index.html', import.meta.url));

beforeAll(async () => {
  t = await startTestHub();
  await t.hub.registry.addStreet('east', '幸福街道');
  await t.hub.registry.addEstate('estate-a', { street: 'east', name: 'A' });
  await t.hub.registry.addEstate('estate-w', { name: 'W' });
}, 30_000);
afterAll(() => t?.stop());

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

describe.skipIf(!built)('web routes', () => {
  it('client routes answer the page with 200', async () => {
    for (const path of ['/', '/login', '/me', '/street', '/roster', '/admin', '/estate/estate-a', '/patrol']) {
      const res = await fetch(`${t.httpUrl}${path}`, { headers: HTML });
      expect(res.status, path).toBe(200);
      expect(await res.text()).toContain('<div id="app">');
    }
  });

  it('an unknown page answers the app with 404; API paths and JSON clients keep the JSON error', async () => {
    const page = await fetch(`${t.httpUrl}/no/such/page`, { headers: HTML });
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<div id="app">');
    const api = await fetch(`${t.httpUrl}/api/v1/nothing`, { headers: HTML });
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ error: { code: 'RB_ERR_NOT_FOUND' } });
    const json = await fetch(`${t.httpUrl}/no/such/page`);
    expect(json.status).toBe(404);
    expect(await json.json()).toMatchObject({ error: { code: 'RB_ERR_NOT_FOUND' } });
    const asset = await fetch(`${t.httpUrl}/assets/missing.js`, { headers: HTML });
    expect(asset.status).toBe(404);
    expect(asset.headers.get('content-type')).toMatch(/json/);
  });

  it('serves the favicon, the app icons and the manifest, and the page links them', async () => {
    const types: Record<string, RegExp> = {
      '/favicon.ico': /image\/(x-icon|vnd.microsoft.icon)/,
      '/favicon.svg': /image\/svg\+xml/,
      '/icon-192.png': /image\/png/,
      '/icon-512.png': /image\/png/,
      '/apple-touch-icon.png': /image\/png/,
      '/manifest.webmanifest': /manifest\+json|json/,
    };
    for (const [path, type] of Object.entries(types)) {
      const res = await fetch(`${t.httpUrl}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(type);
    }
    const png = Buffer.from(await (await fetch(`${t.httpUrl}/icon-512.png`)).arrayBuffer());
    expect(png.readUInt32BE(16)).toBe(512); // IHDR width
    const manifest = (await (await fetch(`${t.httpUrl}/manifest.webmanifest`)).json()) as { icons: Array<{ src: string }> };
    for (const icon of manifest.icons) expect((await fetch(`${t.httpUrl}${icon.src}`)).status).toBe(200);
    const html = await (await fetch(`${t.httpUrl}/`)).text();
    expect(html).toContain('href="/favicon.svg"');
    expect(html).toContain('href="/manifest.webmanifest"');
  });
});

describe('GET /api/v1/roster/people', () => {
  it('names who covers an estate, for center and admin of it only', async () => {
    const vol = await t.addUser({ name: 'vol-a', displayName: '王小明', role: 'volunteer', scopes: ['estate:estate-a'], password: 'vol-a-password' });
    const cen = await t.addUser({ name: 'cen', role: 'center', scopes: ['street:east'], password: 'cen-password' });
    await t.addUser({ name: 'vol-w', role: 'volunteer', scopes: ['estate:estate-w'], password: 'vol-w-password' });
    const ok = await t.api('GET', '/api/v1/roster/people?estate=estate-a', { token: cen.token });
    expect(ok.status).toBe(200);
    const items = ok.json.items as Array<{ id: string; name: string; displayName: string | null; role: string }>;
    expect(items).toEqual(
      expect.arrayContaining([
        { id: vol.id, name: 'vol-a', displayName: '王小明', role: 'volunteer' },
        { id: cen.id, name: 'cen', displayName: null, role: 'center' },
      ]),
    );
    expect(items.map((u) => u.name)).not.toContain('vol-w');
    expect((await t.api('GET', '/api/v1/roster/people?estate=estate-a', { token: vol.token })).status).toBe(403);
    expect((await t.api('GET', '/api/v1/roster/people?estate=estate-w', { token: cen.token })).status).toBe(403);
    expect((await t.api('GET', '/api/v1/roster/people', { token: cen.token })).status).toBe(400);
  });
});

describe('GET /api/v1/overview', () => {
  it('names the streets of the estates in scope (the street overview is titled with its street)', async () => {
    const ok = await t.api('GET', '/api/v1/overview');
    expect(ok.status).toBe(200);
    expect(ok.json.streets).toEqual([{ id: 'east', name: '幸福街道' }]);
    const cen = await t.addUser({ name: 'cen-streets', role: 'center', scopes: ['street:east'], password: 'cen-streets-pw' });
    expect((await t.api('GET', '/api/v1/overview', { token: cen.token })).json).toMatchObject({ streets: [{ id: 'east', name: '幸福街道' }], estates: [{ id: 'estate-a' }] });
  });
});
