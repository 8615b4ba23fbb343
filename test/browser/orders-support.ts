import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import type { WorkOrders } from '../../hub/orders/types.js';
import type { OrderCategory, WorkOrderView } from '../../protocol/work-orders.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { GRID, phone, STREET, watch as watchPhone } from './phone-support.js';
import { launchChromium, loggedIn, PASSWORD, VIEWPORTS, waitLive } from './support.js';

export const ESTATE_A = 'estate-a';
export const ESTATE_B = 'estate-b';

/**
 * The work-order screens' world (issue 19): a real hub with one street, one grid and two estates (no
 * gateways: orders need none), a volunteer of estate A on duty (王小明), the street's center (陈主任), and
 * a browser. Users are added straight in the hub with display names.
 */
export interface OrdersWorld {
  hub: TestHub;
  /** Where the browsers go: the hub's HTTP address. */
  url: string;
  browser: Browser;
  users: Map<string, string>;
  dir: string;
  /** A real JPEG (640×480) on disk, for the camera input. */
  jpeg: string;
  stop(): Promise<void>;
}

export async function startOrdersWorld(config?: Record<string, unknown>): Promise<OrdersWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-orders-'));
  const hub = await startTestHub({ dataDir: join(dir, 'hub'), ...(config ? { config } : {}) });
  const reg = hub.hub.registry;
  await reg.addStreet(STREET, '幸福街道');
  await reg.addGrid(GRID, { street: STREET, name: '第一网格' });
  await reg.addEstate(ESTATE_A, { street: STREET, grid: GRID, name: '枫林苑' });
  await reg.addEstate(ESTATE_B, { street: STREET, grid: GRID, name: '桂花园' });
  const users = new Map<string, string>();
  const add = async (name: string, displayName: string, role: 'volunteer' | 'center', scopes: string[]) =>
    users.set(name, (await hub.addUser({ name, displayName, role, scopes, password: PASSWORD })).id);
  await add('vol-a', '王小明', 'volunteer', [`estate:${ESTATE_A}`]);
  await add('center-1', '陈主任', 'center', [`street:${STREET}`]);
  const now = Date.now();
  const r = await hub.api('POST', '/api/v1/roster/exceptions', { body: { user: users.get('vol-a'), estate: ESTATE_A, from: now - 60_000, to: now + 12 * 3_600_000, kind: 'on' } });
  if (r.status !== 201) throw new Error(`roster exception: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  const jpeg = join(dir, 'leak.jpg');
  writeFileSync(jpeg, await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 60, b: 40 } } }).jpeg({ quality: 80 }).toBuffer());
  const browser = await launchChromium();
  return {
    hub,
    url: hub.httpUrl,
    browser,
    users,
    dir,
    jpeg,
    async stop() {
      await browser.close().catch(() => {});
      await hub.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The hub's work-order service, as hub/residents calls it when a resident files a report. */
const orders = (hub: TestHub): WorkOrders => (hub.hub as unknown as { orders: WorkOrders }).orders;

/** What a resident's QR report does: an order with source `resident`, created by the hub's service. */
export async function residentReport(hub: TestHub, input: { estate?: string; category?: OrderCategory; description: string; building?: string; unit?: string; phone?: string }): Promise<WorkOrderView> {
  const { order } = await orders(hub).create({ estate: input.estate ?? ESTATE_A, source: 'resident', category: input.category ?? 'repair', description: input.description, ...(input.building ? { building: input.building } : {}), ...(input.unit ? { unit: input.unit } : {}), ...(input.phone ? { phone: input.phone } : {}) }, { kind: 'resident' });
  return order;
}

export interface Screen {
  context: BrowserContext;
  page: Page;
  problems: () => string[];
  clear: () => void;
  /** Dialogs (alert, confirm, prompt) the page opened: none, ever, on these screens. */
  dialogs: string[];
}

function dialogs(page: Page): string[] {
  const seen: string[] = [];
  page.on('dialog', (d) => {
    seen.push(`${d.type()}: ${d.message()}`);
    void d.dismiss().catch(() => {});
  });
  return seen;
}

/** The command center of estate A at 1920×1080, signed in as the center, live. */
export async function commandCenter(world: OrdersWorld): Promise<Screen> {
  const { context, page } = await loggedIn(world.browser, world.url, 'center-1', VIEWPORTS.screen, `/estate/${ESTATE_A}`);
  const seen = watchPhone(page);
  const d = dialogs(page);
  await page.waitForURL(`**/estate/${ESTATE_A}`);
  await page.locator('[data-testid=orders-panel]').waitFor();
  await waitLive(page);
  return { context, page, problems: seen.problems, clear: seen.clear, dialogs: d };
}

/** The volunteer's phone at 360×740 on its 工单 tab, live. */
export async function volunteerPhone(world: OrdersWorld): Promise<Screen> {
  const { context, page, issues } = await phone(world.browser, world.url, 'vol-a');
  const d = dialogs(page);
  await waitLive(page);
  await page.locator('.phone-tabs [data-tab=orders]').click();
  await page.locator('[data-testid=phone-orders]').waitFor();
  return { context, page, problems: issues.problems, clear: issues.clear, dialogs: d };
}
