import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESTATE_A, ESTATE_B, commandCenter, residentReport, startOrdersWorld, volunteerPhone, type OrdersWorld, type Screen } from './orders-support.js';

/**
 * Issue 19 on the screens: an order left alone passes its deadline and moves up a tier, live on the
 * command center and the phone (tier badge, countdown, then the overdue mark at the street), and the
 * street's center gets a notice that opens it; the
 * center whistles 城管, whose missed check-in is shown as missed; a 12345 CSV with a bad row reports
 * the row and its error and imports the rest, once. Real hub with short deadlines (a 1 s sweep).
 */
/** The wall's order list pages what does not fit: turn its pages until `row` shows. */
async function turnTo(page: Screen['page'], row: ReturnType<Screen['page']['locator']>): Promise<void> {
  for (let i = 0; i < 4 && (await row.count()) === 0; i++) {
    const next = page.locator('[data-testid=orders-pager] button').last();
    if ((await next.count()) === 0) await page.waitForTimeout(200);
    else await next.click();
  }
}

describe('work orders: tiers, deadlines, whistles and the 12345 import on the screens', () => {
  let world: OrdersWorld;
  let center: Screen;
  let vol: Screen;

  beforeAll(async () => {
    world = await startOrdersWorld({
      orders: {
        sweepEvery: '1s',
        deadlines: { help: { grid: '2s', community: '4s', street: '2s' }, default: { grid: '8h', community: '1d', street: '2d' } },
        whistle: { checkInWithin: '2s' },
      },
    });
    [center, vol] = await Promise.all([commandCenter(world), volunteerPhone(world)]);
  }, 60_000);

  afterAll(async () => {
    await world?.stop();
  });

  it('an order left alone moves grid → community → street live on both screens, then shows overdue', async () => {
    const order = await residentReport(world.hub, { category: 'help', description: '独居老人家中无人应门' });
    const row = center.page.locator(`.o-row-item[data-order-id="${order.id}"]`);
    const card = vol.page.locator(`li.o-card[data-order-id="${order.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    await card.waitFor({ timeout: 10_000 });
    for (const [tier, label] of [['community', '社区'], ['street', '街道']] as const) {
      await expect.poll(() => row.locator('[data-testid=order-tier]').getAttribute('data-tier'), { timeout: 10_000 }).toBe(tier);
      expect(await row.locator('[data-testid=order-tier]').textContent()).toBe(label);
      await expect.poll(() => card.locator('[data-testid=order-tier]').textContent(), { timeout: 10_000 }).toBe(label);
    }
    // Past the street's time: it stays there, marked overdue on both screens.
    await expect.poll(() => row.locator('[data-testid=order-deadline]').textContent(), { timeout: 10_000 }).toMatch(/^已超时/);
    await expect.poll(() => card.locator('[data-testid=order-deadline]').textContent(), { timeout: 10_000 }).toMatch(/^已超时/);
    await expect.poll(() => center.page.locator('[data-testid=orders-overdue]').textContent(), { timeout: 10_000 }).toBe('超时 1');
    // The street's center (陈主任, scoped to the street) was told when it reached the street: a notice
    // over the wall that opens the order.
    const notice = center.page.locator(`[data-testid=order-notice][data-order-id="${order.id}"]`);
    await notice.waitFor({ timeout: 10_000 });
    expect(await notice.getAttribute('data-tier')).toBe('street');
    expect(await notice.locator('.what').textContent()).toMatch(/^工单 GD\d{8}-\d{4} 已升级到街道：枫林苑 · 求助$/);
    expect(await vol.page.locator('[data-testid=order-notice]').count()).toBe(0);
    // 查看 opens it; the history says who it went to.
    await notice.locator('[data-testid=order-notice-open]').click();
    expect(await notice.count()).toBe(0);
    const steps = center.page.locator(`[data-testid=order-drawer] article[data-order-id="${order.id}"] [data-testid=order-steps]`);
    await expect.poll(() => steps.locator('li[data-action=escalated]').count(), { timeout: 10_000 }).toBe(2);
    expect(await steps.textContent()).toContain('升级 · 系统 → 社区');
    await center.page.locator('[data-testid=order-drawer-close]').click();
    expect(center.problems()).toEqual([]);
    expect(vol.problems()).toEqual([]);
  }, 30_000);

  it('the center whistles 城管; the missed check-in shows as missed', async () => {
    const order = await residentReport(world.hub, { category: 'sanitation', description: '小区门口占道经营，垃圾堆放' });
    const row = center.page.locator(`.o-row-item[data-order-id="${order.id}"]`);
    // A new order: at the grid, its deadline (8 h for this category) counting down.
    await expect.poll(() => center.page.locator('[data-testid=orders-count]').textContent(), { timeout: 10_000 }).toBe('2');
    await turnTo(center.page, row);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('[data-testid=order-tier]').textContent()).toBe('网格');
    expect(await row.locator('[data-testid=order-deadline]').textContent()).toMatch(/^剩余 0[78]:\d\d:\d\d$/);
    await row.click();
    const detail = center.page.locator(`[data-testid=order-drawer] article[data-order-id="${order.id}"]`);
    await detail.waitFor();
    await detail.locator('[data-testid=order-whistle] select').selectOption('chengguan');
    await detail.locator('[data-testid=order-whistle] button[type=submit]').click();
    expect(await detail.locator('[data-testid=whistle-done]').textContent({ timeout: 10_000 })).toBe('已向 城管 吹哨，等待报到');
    const whistles = detail.locator('[data-testid=order-whistles]');
    await expect.poll(() => whistles.textContent(), { timeout: 10_000 }).toMatch(/城管 \d\d:\d\d:\d\d 前报到/);
    // Its check-in time passes (2 s): the sweep marks it missed; the drawer shows it.
    await expect.poll(() => whistles.locator('li[data-missed=true]').count(), { timeout: 15_000 }).toBe(1);
    expect(await whistles.textContent()).toContain('未按时报到');
    // The hub counts it missed too.
    await expect.poll(async () => ((await world.hub.api('GET', `/api/v1/work-orders/${order.id}/whistles`)).json.items as Array<{ missed: boolean }>)?.[0]?.missed, { timeout: 10_000 }).toBe(true);
    await center.page.locator('[data-testid=order-drawer-close]').click();
    expect(center.problems()).toEqual([]);
  }, 30_000);

  it('a 12345 CSV with a bad row reports the row and its error and imports the rest, once', async () => {
    const csv = join(world.dir, '12345.csv');
    writeFileSync(
      csv,
      [
        'externalNo,estate,category,description,building,unit',
        `SX2026120701,${ESTATE_A},报修,电梯异响，多次报修未果,7,1`,
        `SX2026120702,${ESTATE_A},火星,类别写错的一行,,`,
        `SX2026120703,${ESTATE_B},噪音扰民,广场舞音响过大,,`,
      ].join('\n'),
    );
    const page = center.page;
    for (const round of [1, 2]) {
      await page.locator('[data-testid=import-open]').click();
      const form = page.locator('[data-testid=order-drawer] [data-testid=order-import]');
      await form.locator('input[type=file]').setInputFiles(csv);
      await form.locator('[data-testid=import-submit]').click();
      const answer = form.locator('[data-testid=import-answer]');
      await answer.waitFor({ timeout: 10_000 });
      expect(await answer.locator('.notice').textContent()).toBe(round === 1 ? '新建 2 张，已存在 0 张，出错 1 行' : '新建 0 张，已存在 2 张，出错 1 行');
      const bad = answer.locator('[data-testid=import-errors] li');
      expect(await bad.count()).toBe(1);
      expect(await bad.getAttribute('data-line')).toBe('3');
      expect(await bad.textContent()).toMatch(/^第 3 行：.*category/);
      await page.locator('[data-testid=order-drawer-close]').click();
    }
    // Estate A's imported order is on its wall (live), with its source; estate B's is not. The list
    // pages what does not fit: turn its pages until the order shows.
    await expect.poll(() => page.locator('[data-testid=orders-count]').textContent(), { timeout: 10_000 }).toBe('3');
    const row = page.locator('.o-row-item[data-source=hotline]');
    await turnTo(page, row);
    expect(await row.count()).toBe(1);
    expect(await row.locator('[data-testid=order-source]').textContent()).toContain('12345');
    expect(await row.textContent()).toContain('电梯异响');
    expect(center.problems()).toEqual([]);
  }, 30_000);
});
