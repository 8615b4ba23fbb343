import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/index.js';
import { makeEvent, publishOutcome } from '../support/hub.js';
import { fitsViewport, keepShot, overflowing as overflowingBox, setLang } from './checks.js';
import { overflowing as overflowingPhone } from './phone-support.js';
import { commandCenter, ESTATE_A, startOrdersWorld, volunteerPhone, type OrdersWorld, type Screen } from './orders-support.js';
import { loggedIn, VIEWPORTS, waitLive } from './support.js';

/**
 * Issue 19: the center logs a call on the dedicated line (来电登记) from the command center; the
 * order (source phone) is live on the volunteer's phone with the caller's number masked, full for the
 * center on request. An alert becomes a work order (转工单) from its panel, and the link opens it.
 * The street overview shows each estate's backlog. The wall still fits 1920×1080.
 */
describe('work orders: 来电登记, 转工单, the street backlog', () => {
  let world: OrdersWorld;
  let center: Screen;
  let vol: Screen;

  beforeAll(async () => {
    world = await startOrdersWorld();
    [center, vol] = await Promise.all([commandCenter(world), volunteerPhone(world)]);
  }, 60_000);

  afterAll(async () => {
    await world?.stop();
  });

  it('来电登记 on the command center creates a phone order; the volunteer sees it live with the number masked', async () => {
    const page = center.page;
    await page.locator('[data-testid=intake-open]').click();
    const form = page.locator('[data-testid=order-drawer] [data-testid=order-intake]');
    await form.waitFor();
    // The description is required: said, nothing sent.
    await form.locator('input[name=phone]').fill('13987654321');
    await form.locator('[data-testid=intake-submit]').click();
    expect(await form.locator('[data-testid=intake-error]').textContent()).toBe('请填写问题描述');
    await form.locator('select[name=category]').selectOption('noise');
    await form.locator('input[name=building]').fill('5');
    await form.locator('input[name=unit]').fill('1');
    await form.locator('textarea[name=description]').fill('楼上深夜装修，电钻声持续');
    await form.locator('[data-testid=intake-submit]').click();
    // Said what it became, and opened it.
    const done = page.locator('[data-testid=order-drawer] [data-testid=intake-done]');
    await done.waitFor({ timeout: 10_000 });
    const no = /工单 (GD\S+)/.exec((await done.textContent())!)![1]!;
    const detail = page.locator('[data-testid=order-drawer] article.o-detail');
    await expect.poll(() => detail.locator('.o-meta').textContent(), { timeout: 10_000 }).toContain(no);
    const id = (await detail.getAttribute('data-order-id'))!;
    expect(await detail.locator('[data-testid=order-source]').textContent()).toContain('来电');
    expect(await detail.locator('.o-meta').textContent()).toContain('噪音扰民');
    expect(await detail.locator('.o-meta').textContent()).toContain('5 栋 1 单元');
    const api = await world.hub.api('GET', `/api/v1/work-orders/${id}`);
    expect(api.json).toMatchObject({ source: 'phone', category: 'noise', estate: ESTATE_A, building: '5', unit: '1', description: '楼上深夜装修，电钻声持续' });
    // The center asks for the full number (audited).
    await expect.poll(() => detail.locator('[data-testid=order-phone]').textContent(), { timeout: 5_000 }).toMatch(/^139\*+4321$|^13987654321$/);
    if ((await detail.locator('[data-testid=order-show-phone]').count()) > 0) {
      await detail.locator('[data-testid=order-show-phone]').click();
      await expect.poll(() => detail.locator('[data-testid=order-phone]').textContent(), { timeout: 5_000 }).toBe('13987654321');
    }
    await expect.poll(() => page.locator(`.o-row-item[data-order-id="${id}"]`).count(), { timeout: 10_000 }).toBe(1);
    // The center sends it to a department, named in words.
    await detail.locator('[data-testid=order-assign-dept]').selectOption('chengguan');
    await expect.poll(() => detail.getAttribute('data-state'), { timeout: 10_000 }).toBe('assigned');
    expect(await detail.locator('[data-testid=order-assignee]').textContent()).toBe('负责：城管');
    expect((await world.hub.api('GET', `/api/v1/work-orders/${id}`)).json.assigneeDept).toBe('chengguan');

    // The volunteer's phone: live, masked, no way to the full number.
    const card = vol.page.locator(`li.o-card[data-order-id="${id}"]`);
    await card.waitFor({ timeout: 10_000 });
    expect(await card.locator('[data-testid=order-source]').textContent()).toContain('来电');
    await card.locator('[data-testid=order-open]').click();
    const vd = vol.page.locator(`article.o-detail[data-order-id="${id}"]`);
    await vd.waitFor();
    await expect.poll(() => vd.locator('[data-testid=order-phone]').textContent(), { timeout: 10_000 }).toBe('139****4321');
    expect(await vd.textContent()).not.toContain('13987654321');
    expect(await vd.locator('[data-testid=order-show-phone]').count()).toBe(0);
    await page.locator('[data-testid=order-drawer-close]').click();
    expect(center.problems()).toEqual([]);
    expect(vol.problems()).toEqual([]);
  }, 30_000);

  it('转工单 turns an alert into a work order from its panel; the link opens the order', async () => {
    const gw = await world.hub.connect(await world.hub.provision(ESTATE_A, 'gw-1'));
    const event = makeEvent({ estate: ESTATE_A, gateway: 'gw-1', device: 'gate-east', type: 'door.forced', data: { door: 1 } });
    expect(await publishOutcome(gw, topics.event(ESTATE_A, 'gw-1', 'gate-east'), JSON.stringify(event))).toBe('acked');
    const page = center.page;
    const row = page.locator('li.alert-row[data-alert-id]').first();
    await row.waitFor({ timeout: 15_000 });
    const alertId = (await row.getAttribute('data-alert-id'))!;
    await row.click();
    const panel = page.locator(`[data-testid=alert-panel][data-alert-id="${alertId}"]`);
    await panel.locator('[data-testid=to-order-button]').click();
    const done = panel.locator('[data-testid=to-order-done]');
    await done.waitFor({ timeout: 10_000 });
    expect(await done.textContent()).toMatch(/^已转为工单 GD\d{8}-\d+$/);
    await panel.locator('[data-testid=to-order-open]').click();
    // The order's drawer replaces the alert's panel; the address is the estate's again.
    const detail = page.locator('[data-testid=order-drawer] article.o-detail');
    await detail.waitFor({ timeout: 10_000 });
    await panel.waitFor({ state: 'detached' });
    expect(await detail.locator('[data-testid=order-source]').textContent()).toContain('告警');
    const id = (await detail.getAttribute('data-order-id'))!;
    const api = await world.hub.api('GET', `/api/v1/work-orders/${id}`);
    expect(api.json).toMatchObject({ source: 'alert', alertId, estate: ESTATE_A });
    await expect.poll(() => page.evaluate('location.pathname + location.search')).toBe(`/estate/${ESTATE_A}`);
    await page.locator(`.o-row-item[data-order-id="${id}"]`).waitFor({ timeout: 10_000 });
    await page.locator('[data-testid=order-drawer-close]').click();
    // The wall still fits, with no text wider than its box.
    expect((await fitsViewport(page)).fits).toBe(true);
    expect(await overflowingBox(page, '.o-list, .o-row-item, .alert-list, .side .panel')).toEqual([]);
    expect(center.problems()).toEqual([]);
  }, 30_000);

  it('the wall with its drawer and the phone with an order fit, no text wider than its box, in zh-CN and English', async () => {
    const row = center.page.locator('li.o-row-item').first();
    for (const lang of ['en', 'zh-CN'] as const) {
      await setLang(center.page, lang);
      await row.click();
      await center.page.locator('[data-testid=order-drawer] [data-testid=order-steps]').waitFor({ timeout: 10_000 });
      expect((await fitsViewport(center.page)).fits, lang).toBe(true);
      expect(await overflowingBox(center.page, '.o-list, .o-row-item, .alert-list, .side .panel'), lang).toEqual([]);
      await keepShot(center.page, `orders-center-${lang}`);
      await center.page.locator('[data-testid=order-drawer-close]').click();
      await center.page.locator('[data-testid=intake-open]').click();
      await center.page.locator('[data-testid=order-intake]').waitFor();
      expect(await overflowingBox(center.page), lang).toEqual([]);
      await center.page.keyboard.press('Escape');
      await setLang(vol.page, lang);
      await vol.page.locator('.phone-tabs [data-tab=orders]').click();
      await vol.page.locator('li.o-card').first().waitFor({ timeout: 10_000 });
      expect(await overflowingPhone(vol.page), lang).toEqual([]);
      await vol.page.locator('li.o-card [data-testid=order-open]').first().click();
      await vol.page.locator('article.o-detail [data-testid=order-steps]').waitFor({ timeout: 10_000 });
      expect(await overflowingPhone(vol.page), lang).toEqual([]);
      await keepShot(vol.page, `orders-phone-${lang}`);
    }
    expect(center.problems()).toEqual([]);
    expect(vol.problems()).toEqual([]);
  }, 60_000);

  it('the street overview shows each estate backlog beside its figures', async () => {
    const { context, page } = await loggedIn(world.browser, world.url, 'center-1', VIEWPORTS.screen, '/street');
    await page.waitForURL('**/street');
    await waitLive(page);
    const tile = page.locator(`a.estate-tile[data-estate="${ESTATE_A}"] [data-testid=backlog]`);
    await tile.waitFor({ timeout: 10_000 });
    const api = await world.hub.api('GET', '/api/v1/work-orders/backlog');
    const items = (Array.isArray(api.json) ? api.json : (api.json.items as unknown[])) as Array<{ estate: string; open: number; overdue: number }>;
    const a = items.find((b) => b.estate === ESTATE_A)!;
    expect(a.open).toBe(2);
    expect(await tile.getAttribute('data-open')).toBe('2');
    expect(await tile.textContent()).toContain('待办 2 · 超时 0');
    // The street's figures beside the tiles, as the figures route computes them.
    const figures = page.locator('[data-testid=order-figures]');
    await figures.waitFor({ timeout: 10_000 });
    const f = (await world.hub.api('GET', '/api/v1/work-orders/figures')).json as { total: { orders: number; satisfiedPct: number | null } };
    expect(f.total.orders).toBeGreaterThanOrEqual(2);
    await expect.poll(() => figures.locator('[data-testid=figures-orders]').textContent(), { timeout: 15_000 }).toBe(String(f.total.orders));
    expect(await figures.locator('h2').textContent()).toBe('工单（近 12 个月）');
    expect(await figures.locator('[data-testid=figures-hotline]').getAttribute('data-trend')).toMatch(/^(up|down|flat)$/);
    expect((await fitsViewport(page)).fits).toBe(true);
    await context.close();
  }, 30_000);
});
