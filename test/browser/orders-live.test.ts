import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepShot } from './checks.js';
import { overflowing } from './phone-support.js';
import { commandCenter, residentReport, startOrdersWorld, volunteerPhone, type OrdersWorld, type Screen } from './orders-support.js';

/**
 * Issue 19, "must show": a resident's report appears live on the command center (1920×1080) and on the
 * on-duty volunteer's phone (360×740) without a reload; the volunteer takes it, starts, and resolves it
 * with a note and a real JPEG from the camera input (multipart upload); the center sees it resolved
 * with the photo, and opens the photo large. Script in a report is shown as text on both screens.
 */
describe('work orders live on the command center and the phone', () => {
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

  it('a resident report appears on both screens live; the volunteer resolves it with a note and a photo; the center sees the photo', async () => {
    const order = await residentReport(world.hub, { description: '3 栋 2 单元楼道灯不亮，晚上看不见台阶', building: '3', unit: '2', phone: '13812345678' });
    // Live, no reload: the row on the wall, the card on the phone.
    const row = center.page.locator(`.o-row-item[data-order-id="${order.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('[data-testid=order-source]').textContent()).toContain('居民');
    expect(await row.locator('[data-testid=order-state]').textContent()).toBe('待派单');
    expect(await row.locator('[data-testid=order-tier]').textContent()).toBe('网格');
    expect(await row.textContent()).toContain(order.no);
    const card = vol.page.locator(`li.o-card[data-order-id="${order.id}"]`);
    await card.waitFor({ timeout: 10_000 });
    expect(await vol.page.locator('.phone-tabs [data-tab=orders] .count').textContent()).toBe('1');

    // The volunteer opens it, takes it (assigned to me), starts, resolves with a note and a photo.
    await card.locator('[data-testid=order-open]').click();
    await vol.page.waitForURL(`**/me?order=${order.id}`);
    const detail = vol.page.locator(`article.o-detail[data-order-id="${order.id}"]`);
    await detail.waitFor();
    // The volunteer sees the caller's number masked.
    expect(await detail.locator('[data-testid=order-phone]').textContent()).toBe('138****5678');
    expect(await detail.locator('[data-testid=order-show-phone]').count()).toBe(0);
    await detail.locator('[data-testid=order-take]').click();
    await expect.poll(() => detail.getAttribute('data-state'), { timeout: 10_000 }).toBe('assigned');
    expect(await detail.locator('[data-testid=order-done]').textContent()).toBe('已派单');
    expect(await detail.locator('[data-testid=order-assignee]').textContent()).toBe('负责：我');
    await detail.locator('[data-testid=order-start]').click();
    await expect.poll(() => detail.getAttribute('data-state'), { timeout: 10_000 }).toBe('in_progress');
    // The center's row follows live.
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('in_progress');

    await detail.locator('[data-testid=order-resolve]').click();
    const form = detail.locator('[data-testid=order-form-resolve]');
    // A note is required: said, not sent.
    await form.getByRole('button', { name: '提交办结' }).click();
    expect(await detail.locator('[data-testid=order-error]').textContent()).toBe('请填写说明');
    expect(await form.locator('input[type=file]').getAttribute('capture')).toBe('environment');
    await form.locator('textarea').fill('已更换灯泡，楼道照明恢复');
    await form.locator('input[type=file]').setInputFiles(world.jpeg);
    expect(await form.textContent()).toContain('已选 1 张照片');
    await form.getByRole('button', { name: '提交办结' }).click();
    await expect.poll(() => detail.getAttribute('data-state'), { timeout: 15_000 }).toBe('resolved');
    expect(await detail.locator('[data-testid=order-done]').textContent()).toBe('已办结');
    const steps = detail.locator('[data-testid=order-steps]');
    await expect.poll(() => steps.textContent(), { timeout: 10_000 }).toContain('已更换灯泡，楼道照明恢复');
    await steps.locator('img.o-thumb-img[data-photo-id]').waitFor({ timeout: 10_000 });
    expect(await overflowing(vol.page)).toEqual([]);
    await keepShot(vol.page, 'orders-phone-resolved');
    // Resolved leaves the volunteer's open list.
    await vol.page.goBack();
    await expect.poll(() => card.count(), { timeout: 10_000 }).toBe(0);

    // The center: the row says resolved (waiting to be closed); the drawer shows the note and the photo, large on a click.
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('resolved');
    await row.click();
    const drawer = center.page.locator(`[data-testid=order-drawer] article.o-detail[data-order-id="${order.id}"]`);
    await drawer.waitFor();
    expect(await drawer.locator('[data-testid=order-state]').textContent()).toBe('已解决');
    await expect.poll(() => drawer.locator('[data-testid=order-steps]').textContent(), { timeout: 10_000 }).toContain('已更换灯泡，楼道照明恢复');
    expect(await drawer.locator('[data-testid=order-steps] li[data-action=resolved]').textContent()).toContain('王小明');
    const thumb = drawer.locator('[data-testid=order-thumb]').first();
    await thumb.locator('img[data-photo-id]').waitFor({ timeout: 10_000 });
    await keepShot(center.page, 'orders-center-drawer');
    await thumb.click();
    const box = center.page.locator('[data-testid=order-photo-box] img.o-photo-large');
    await box.waitFor({ timeout: 10_000 });
    const size = await box.evaluate((el) => {
      const img = el as unknown as { naturalWidth: number; getBoundingClientRect(): { width: number } };
      return [img.naturalWidth, img.getBoundingClientRect().width];
    });
    expect(size[0]).toBe(640);
    expect(size[1]).toBeGreaterThan(400);
    await center.page.keyboard.press('Escape');
    await box.waitFor({ state: 'detached' });
    // The center closes it: it leaves the wall.
    await drawer.locator('[data-testid=order-close]').click();
    await expect.poll(() => drawer.getAttribute('data-state'), { timeout: 10_000 }).toBe('closed');
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
    await center.page.locator('[data-testid=order-drawer-close]').click();
    expect(center.problems()).toEqual([]);
    expect(vol.problems()).toEqual([]);
  }, 60_000);

  it('script in a report is shown as text on both screens, and runs nowhere', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    const order = await residentReport(world.hub, { category: 'other', description: evil, building: '<b>9</b>' });
    const row = center.page.locator(`.o-row-item[data-order-id="${order.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('[data-testid=order-title]').textContent()).toBe(order.title);
    expect(order.title).toContain('<img');
    expect(await row.textContent()).toContain('<b>9</b>');
    await row.click();
    const drawer = center.page.locator(`[data-testid=order-drawer] article.o-detail[data-order-id="${order.id}"]`);
    await drawer.waitFor();
    expect(await drawer.locator('[data-testid=order-description]').textContent()).toBe(evil);
    // The phone: its list (live) and the order's page.
    await vol.page.locator('.phone-tabs [data-tab=orders]').click();
    const card = vol.page.locator(`li.o-card[data-order-id="${order.id}"]`);
    await card.waitFor({ timeout: 10_000 });
    expect(await card.locator('[data-testid=order-title]').textContent()).toBe(order.title);
    await card.locator('[data-testid=order-open]').click();
    const detail = vol.page.locator(`article.o-detail[data-order-id="${order.id}"]`);
    await detail.waitFor();
    expect(await detail.locator('[data-testid=order-description]').textContent()).toBe(evil);
    await keepShot(vol.page, 'orders-phone-script');
    await keepShot(center.page, 'orders-center-script');
    // No element came from the text, no handler ran.
    for (const s of [center, vol]) {
      expect(await s.page.locator('img[src=x], b:text-is("9")').count()).toBe(0);
      expect(s.dialogs).toEqual([]);
    }
    expect(center.problems()).toEqual([]);
    expect(vol.problems()).toEqual([]);
  }, 30_000);
});
