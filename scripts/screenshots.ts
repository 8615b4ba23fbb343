// Screenshots of each view with live demo-like data, for the README: `npm run screenshots`.
// Runs `red-butler demo` (a street of two estates: hub, gateways, simulated gates, barriers, camera, and
// its demo logins) in a temp data dir, forces a door (an alert with its camera snapshot) and holds one
// open, lets the volunteer acknowledge one, then photographs the login, the volunteer phone (360x740), the command center (1920x1080,
// also with an alert open in its side panel, and a work order open in its drawer), the street overview, the roster, the
// desk's patrol screen and the phone's work orders with Debian chromium into docs/screenshots/.
// Stops everything it started.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createAccessGateSimulator } from '../devices/access-gate/simulator.js';

const OUT = 'docs/screenshots';
const CLI = 'bin/red-butler.js';
/** The logins `red-butler demo` creates (cli/demo.ts) and prints at start. */
const VOLUNTEER = { name: 'volunteer', password: 'demo-volunteer' };
const CENTER = { name: 'center', password: 'demo-center' };
const PATROL = { name: 'patrol', password: 'demo-patrol' };
const ESTATE = 'demo-estate';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-shots-'));
  const [http, mqtt, push] = [await freePort(), await freePort(), await freePort()];
  const base = `http://127.0.0.1:${http}`;

  const demo = spawn(process.execPath, [CLI, 'demo', '--http-port', String(http), '--mqtt-port', String(mqtt), '--push-port', String(push), '--data-dir', dir, '--rate', '4'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let browser: Browser | undefined;
  try {
    for (let i = 0; ; i++) {
      if ((await fetch(`${base}/healthz`).catch(() => undefined))?.ok) break;
      if (i > 150 || demo.exitCode !== null) throw new Error('the demo hub did not come up');
      await sleep(200);
    }
    const token = readFileSync(join(dir, 'demo-api-token'), 'utf8').trim();
    await sleep(8_000); // let the simulated estate report and traffic flow
    // Incidents: a forced door at the east gate (its camera takes a snapshot), a door held open.
    const gate = createAccessGateSimulator({ target: `http://127.0.0.1:${push}/isapi/gate-east`, deviceName: 'gate-east', format: 'json' });
    // The gateways are child processes: on a loaded machine their push port opens later than the hub's.
    for (let i = 0; ; i++) {
      const sent = await gate.send('forced').then(() => true, (err: unknown) => (i >= 120 ? Promise.reject(err) : false));
      if (sent) break;
      await sleep(500);
    }
    const north = createAccessGateSimulator({ target: `http://127.0.0.1:${push}/isapi/gate-north`, deviceName: 'gate-north', format: 'json' });
    await north.send('held');
    gate.stop();
    north.stop();
    await sleep(6_000);
    // The volunteer acknowledges the oldest open alert, so "who acknowledged" shows.
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(VOLUNTEER) });
    const vol = login.ok ? ((await login.json()) as { token: string }).token : token;
    const open = await fetch(`${base}/api/v1/alerts?estate=${ESTATE}&state=open&limit=10`, { headers: { authorization: `Bearer ${vol}` } });
    const items = open.ok ? ((await open.json()) as { items: Array<{ id: string; rule: string }> }).items : [];
    const held = items.find((a) => a.rule === 'door.held') ?? items[items.length - 1];
    if (held) await fetch(`${base}/api/v1/alerts/${held.id}/ack`, { method: 'POST', headers: { authorization: `Bearer ${vol}`, 'content-type': 'application/json' }, body: '{}' });
    // Work orders (issue 19): a call on the dedicated line logged by the center, and the forced door turned into an order.
    const asApi = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    await fetch(`${base}/api/v1/work-orders`, { method: 'POST', headers: asApi, body: JSON.stringify({ estate: ESTATE, source: 'phone', category: 'repair', description: '3 栋 2 单元楼道灯不亮，晚上看不见台阶', building: '3', unit: '2', phone: '13812345678' }) });
    const forced = items.find((a) => a.rule === 'door.forced');
    if (forced) await fetch(`${base}/api/v1/work-orders/from-alert/${forced.id}`, { method: 'POST', headers: asApi, body: '{}' });

    // A resident's report through the QR page (the demo files one too): its private follow link for the shot.
    const form = new FormData();
    for (const [k, v] of Object.entries({ category: 'hazard', building: '2号楼', unit: '1单元', description: '楼下电动车飞线充电，电线横穿过道，有火灾隐患' })) form.set(k, v);
    const filed = await fetch(`${base}/r/${ESTATE}`, { method: 'POST', body: form });
    const followPath = /href="(\/r\/f\/[A-Za-z0-9_-]+)"/.exec(await filed.text())?.[1];

    mkdirSync(OUT, { recursive: true });
    browser = await chromium.launch({
      executablePath: process.env.RB_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
    const shot = async (name: string, viewport: { width: number; height: number }, user: { name: string; password: string } | null, path: string, ready: string, then?: (page: Page) => Promise<void>) => {
      const context = await browser!.newContext({ viewport, baseURL: base, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', deviceScaleFactor: 1 });
      const page: Page = await context.newPage();
      await page.goto(path);
      if (user) {
        await page.locator('input[name=name]').fill(user.name);
        await page.locator('input[name=password]').fill(user.password);
        await page.locator('button[type=submit]').click();
      }
      await page.locator(ready).first().waitFor({ timeout: 15_000 }).catch(() => console.warn(`screenshots: ${name}: ${ready} did not appear`));
      await sleep(2_500); // snapshots and counts arrive
      if (then) {
        await then(page).catch((err: unknown) => console.warn(`screenshots: ${name}: ${String(err)}`));
        await sleep(1_500);
      }
      await page.screenshot({ path: join(OUT, `${name}.png`) });
      console.log(`screenshots: ${join(OUT, `${name}.png`)}`);
      await context.close();
    };
    await shot('login', { width: 1280, height: 800 }, null, '/', 'form');
    await shot('phone', { width: 360, height: 740 }, VOLUNTEER, '/me', 'img.snapshot');
    await shot('command-center', { width: 1920, height: 1080 }, CENTER, `/estate/${ESTATE}`, 'img.snapshot');
    // The same screen acting: an alert opened in the side panel (timeline, snapshot, actions).
    await shot('command-center-panel', { width: 1920, height: 1080 }, CENTER, `/estate/${ESTATE}`, 'li.alert-row', (page) => page.locator('.alert-list.paged li.alert-row').first().click());
    await shot('street', { width: 1920, height: 1080 }, CENTER, '/street', 'a.estate-tile');
    await shot('command-center-order', { width: 1920, height: 1080 }, CENTER, `/estate/${ESTATE}`, 'li.o-row-item', (page) => page.locator('li.o-row-item').first().click());
    await shot('phone-orders', { width: 360, height: 740 }, VOLUNTEER, '/me?tab=orders', 'li.o-card');
    await shot('roster', { width: 1920, height: 1080 }, CENTER, '/roster', 'li.shift');
    // The resident's pages (no account): the report form the estate's QR poster opens, and the follow link.
    await shot('resident-report', { width: 360, height: 740 }, null, `/r/${ESTATE}`, 'form');
    if (followPath) await shot('resident-follow', { width: 360, height: 740 }, null, followPath, 'main');
    else console.warn('screenshots: resident-follow: the report was not filed');
    await shot('phone-patrol', { width: 360, height: 740 }, PATROL, '/me?tab=patrol', '.patrol');
    // The desk's patrol screen: the estate's checkpoints with their QR codes, its rounds, today's runs.
    await shot('phone-camera', { width: 360, height: 740 }, VOLUNTEER, `/me?camera=cam-east&estate=${ESTATE}`, '.video-tile[data-state=playing]');
    await shot('command-center-wall', { width: 1920, height: 1080 }, CENTER, `/estate/${ESTATE}`, 'img.snapshot', async (page) => {
      await page.locator('button[data-panel=wall]').click();
      await page.locator('.video-tile[data-state=playing]').first().waitFor({ timeout: 15_000 });
    });
    await shot('patrol-desk', { width: 1920, height: 1080 }, CENTER, '/patrol', '[data-testid=cp-qr]');
  } finally {
    await browser?.close();
    if (demo.exitCode === null) {
      const exited = new Promise((r) => demo.once('exit', r));
      demo.kill('SIGINT');
      const timer = setTimeout(() => demo.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
