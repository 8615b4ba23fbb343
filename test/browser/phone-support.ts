import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createAccessGateSimulator, type AccessGateSimulator } from '../../devices/access-gate/simulator.js';
import { createOnvifSimulator, type OnvifSimulator } from '../../devices/onvif-camera/simulator.js';
import type { Gateway } from '../../gateway/main.js';
import { gatewayConfig, startGatewayInProcess } from '../support/gateway.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/ports.js';
import { PASSWORD, launchChromium, login } from './support.js';

/**
 * The phone's world: one street, one grid, two estates, each with its own gateway (in process) and a
 * simulated ISAPI access gate that pushes events AND serves remote door control over Digest, as the
 * real controller does. estate-a's gate (北门) has an ONVIF camera linked; estate-b's (南门) none.
 * Users are added straight in the hub with display names.
 */
export const STREET = 'street-1';
export const GRID = 'grid-1';
export const ESTATE_A = 'estate-a';
export const ESTATE_B = 'estate-b';
const GATE = { username: 'admin', password: 'Gate-Secret-4711' };
const CAM = { username: 'operator', password: 'Cam-Secret-2718' };

export interface PhoneUser {
  name: string;
  displayName: string;
  role: 'volunteer' | 'patrol' | 'center' | 'admin';
  scopes: string[];
}

export interface Site {
  gate: AccessGateSimulator;
  gateway: Gateway;
  device: string;
}

export interface PhoneWorld {
  hub: TestHub;
  a: Site;
  b: Site;
  camera: OnvifSimulator;
  users: Map<string, string>;
  stop(): Promise<void>;
}

async function site(hub: TestHub, dir: string, estate: string, device: string, name: string, camera?: OnvifSimulator): Promise<Site> {
  const pushPort = await freePort();
  const gate = createAccessGateSimulator({ target: `http://127.0.0.1:${pushPort}/isapi/${device}`, deviceName: device, format: 'json' });
  await gate.listen({ ...GATE, host: '127.0.0.1', port: 0 });
  const creds = await hub.provision(estate, `gw-${estate}`);
  const raw = gatewayConfig({ creds, mqttPort: hub.mqttPort, dataDir: join(dir, `gw-${estate}`), pushPort });
  raw.hub = { ...(raw.hub as object), httpUrl: hub.httpUrl };
  raw.devices = [
    { id: device, name, driver: 'hikvision-isapi', options: { address: gate.address(), ...GATE }, ...(camera ? { cameras: ['cam-1'] } : {}) },
    ...(camera ? [{ id: 'cam-1', name: '北门摄像机', driver: 'onvif', options: { address: camera.deviceUrl(), ...CAM, pullTimeoutS: 1, requestTimeoutMs: 2_000 } }] : []),
  ];
  const gateway = await startGatewayInProcess(raw);
  return { gate, gateway, device };
}

export async function startPhoneWorld(users: PhoneUser[]): Promise<PhoneWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-phone-'));
  const hub = await startTestHub({ dataDir: join(dir, 'hub') });
  const reg = hub.hub.registry;
  await reg.addStreet(STREET, '幸福街道');
  await reg.addGrid(GRID, { street: STREET, name: '第一网格' });
  await reg.addEstate(ESTATE_A, { street: STREET, grid: GRID, name: '枫林苑' });
  await reg.addEstate(ESTATE_B, { street: STREET, grid: GRID, name: '桂花园' });
  const ids = new Map<string, string>();
  for (const u of users) ids.set(u.name, (await hub.addUser({ ...u, password: PASSWORD })).id);
  const camera = createOnvifSimulator({ ...CAM, maxPullWaitMs: 1_000, discoveryPort: false });
  await camera.start();
  const a = await site(hub, dir, ESTATE_A, 'gate-north', '北门', camera);
  const b = await site(hub, dir, ESTATE_B, 'gate-south', '南门');
  return {
    hub,
    a,
    b,
    camera,
    users: ids,
    async stop() {
      for (const s of [a, b]) {
        s.gate.stop();
        await s.gate.close().catch(() => {});
        await s.gateway.stop().catch(() => {});
      }
      await camera.stop().catch(() => {});
      await hub.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Put a user on duty at an estate from now for 12 h (a roster exception), as the center would. */
/**
 * Two volunteers of estate A: vol-a on duty now for another half hour, vol-b on duty after; and a
 * browser. The world of the hand-over and label tests.
 */
export async function startShiftWorld(): Promise<{ world: PhoneWorld; browser: Browser }> {
  const world = await startPhoneWorld([
    { name: 'vol-a', displayName: '王小明', role: 'volunteer', scopes: [`estate:${ESTATE_A}`] },
    { name: 'vol-b', displayName: '李红', role: 'volunteer', scopes: [`estate:${ESTATE_A}`] },
  ]);
  const now = Date.now();
  await onDuty(world, 'vol-a', ESTATE_A, now - 3_600_000, now + 30 * 60_000);
  await onDuty(world, 'vol-b', ESTATE_A, now + 30 * 60_000, now + 12 * 3_600_000);
  return { world, browser: await launchChromium() };
}

export async function onDuty(world: PhoneWorld, user: string, estate: string, from = Date.now() - 60_000, to = Date.now() + 12 * 3_600_000): Promise<void> {
  const r = await world.hub.api('POST', '/api/v1/roster/exceptions', { body: { user: world.users.get(user), estate, from, to, kind: 'on' } });
  if (r.status !== 201) throw new Error(`roster exception: HTTP ${r.status} ${JSON.stringify(r.json)}`);
}

/**
 * What a page must not do (issue 15): log a console error or a page error, or have a request fail
 * (a network failure or an HTTP status ≥ 400). Collected per page; `problems()` lists them.
 */
export function watch(page: Page): { problems: () => string[]; clear: () => void } {
  const seen: string[] = [];
  page.on('console', (m) => m.type() === 'error' && seen.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => seen.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    // Leaving a page aborts its pending requests (the socket's long poll): not a failure of the app.
    if (!/ERR_ABORTED/.test(why)) seen.push(`requestfailed: ${r.method()} ${r.url()} ${why}`);
  });
  page.on('response', (r) => r.status() >= 400 && seen.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`));
  return { problems: () => [...seen], clear: () => void (seen.length = 0) };
}

/**
 * Elements whose text is wider than their box: the visible text-bearing elements of the page whose
 * scrollWidth passes clientWidth (a pixel of rounding allowed), with their text, and the page itself
 * scrolling sideways.
 */
export async function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const out = [];
    const root = document.scrollingElement;
    if (root.scrollWidth > root.clientWidth + 1) out.push('page scrolls sideways: ' + root.scrollWidth + ' > ' + root.clientWidth);
    for (const el of document.querySelectorAll('body *')) {
      if (['SCRIPT', 'STYLE', 'svg', 'OPTION', 'IMG', 'TEXTAREA', 'INPUT', 'SELECT'].includes(el.tagName)) continue;
      const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== '');
      if (!hasText || el.clientWidth === 0) continue;
      const style = getComputedStyle(el);
      if (style.display === 'inline') continue; // inline boxes have no clientWidth of their own; their block is checked
      if (el.scrollWidth > el.clientWidth + 1) out.push(el.tagName.toLowerCase() + '.' + [...el.classList].join('.') + ': ' + el.scrollWidth + ' > ' + el.clientWidth + ' "' + el.textContent.trim().slice(0, 60) + '"');
      const r = el.getBoundingClientRect();
      if (r.right > innerWidth + 1 || r.left < -1) out.push(el.tagName.toLowerCase() + '.' + [...el.classList].join('.') + ' outside the viewport: ' + Math.round(r.left) + '..' + Math.round(r.right) + ' "' + el.textContent.trim().slice(0, 60) + '"');
    }
    return out;
  })()`);
}

/** A new context (own storage) at 360×740, signed in as `name` on the phone. */
export async function phone(browser: Browser, baseUrl: string, name: string, lang: 'zh-CN' | 'en' = 'zh-CN'): Promise<{ context: BrowserContext; page: Page; issues: ReturnType<typeof watch> }> {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, baseURL: baseUrl, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', hasTouch: true, isMobile: true });
  if (lang === 'en') await context.addInitScript({ content: `localStorage.getItem('rb.lang') ?? localStorage.setItem('rb.lang', 'en')` });
  const page = await context.newPage();
  const issues = watch(page);
  await page.goto('/');
  await login(page, name);
  await page.waitForURL('**/me');
  return { context, page, issues };
}
