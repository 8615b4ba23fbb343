import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandCenter, ESTATE_A, startOrdersWorld, volunteerPhone, type OrdersWorld, type Screen } from './orders-support.js';
import { VIEWPORTS } from './support.js';

/**
 * Issue 19, "Must show", the whole journey in one run, three browsers on one real hub: a resident opens
 * the estate's QR link on a phone (no account, 360×740) and files a repair with a photo; it appears live
 * on the command center (1920×1080) and on the on-duty volunteer's phone (360×740); the volunteer
 * resolves it with a note and a photo; the resident's link shows it resolved and takes a rating, which
 * closes it, and it leaves the command center's wall.
 */
describe('a resident report from the QR page to the rating', () => {
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

  it('files, shows live, is resolved with a photo, and is rated by the resident', async () => {
    const residentContext = await world.browser.newContext({ viewport: VIEWPORTS.phone, locale: 'zh-CN', isMobile: true, hasTouch: true });
    const resident = await residentContext.newPage();
    try {
      // The resident: the estate's QR link, a repair with a photo.
      await resident.goto(`${world.url}/r/${ESTATE_A}`);
      await resident.getByLabel('报修').check();
      await resident.locator('#building').fill('7号楼');
      await resident.locator('#unit').fill('1单元');
      await resident.locator('#description').fill('7号楼1单元门口路灯不亮，晚上很黑');
      await resident.locator('input[type=file][name=photo]').first().setInputFiles(world.jpeg);
      await resident.getByRole('button', { name: /提交/ }).click();
      const no = (await resident.locator('[data-order-no]').textContent({ timeout: 15_000 }))!;
      const followPath = (await resident.locator('[data-follow-link]').getAttribute('href'))!;
      expect(followPath).toMatch(/^\/r\/f\/[A-Za-z0-9_-]{16,}$/);

      // Live, no reload: the wall's row and the volunteer's card.
      const row = center.page.locator('.o-row-item', { hasText: no });
      await row.waitFor({ timeout: 10_000 });
      expect(await row.locator('[data-testid=order-source]').textContent()).toContain('居民');
      const id = (await row.getAttribute('data-order-id'))!;
      const card = vol.page.locator(`li.o-card[data-order-id="${id}"]`);
      await card.waitFor({ timeout: 10_000 });

      // The volunteer takes it, starts, resolves with a note and a photo.
      await card.locator('[data-testid=order-open]').click();
      const detail = vol.page.locator(`article.o-detail[data-order-id="${id}"]`);
      await detail.waitFor();
      await detail.locator('[data-testid=order-take]').click();
      await expect.poll(() => detail.getAttribute('data-state'), { timeout: 10_000 }).toBe('assigned');
      await detail.locator('[data-testid=order-start]').click();
      await expect.poll(() => detail.getAttribute('data-state'), { timeout: 10_000 }).toBe('in_progress');
      await detail.locator('[data-testid=order-resolve]').click();
      const form = detail.locator('[data-testid=order-form-resolve]');
      await form.locator('textarea').fill('已更换路灯灯泡');
      await form.locator('input[type=file]').setInputFiles(world.jpeg);
      await form.getByRole('button', { name: '提交办结' }).click();
      await expect.poll(() => detail.getAttribute('data-state'), { timeout: 15_000 }).toBe('resolved');
      await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('resolved');

      // The resident's link: resolved, with the resolution's note and photo; a rating closes it.
      await resident.goto(`${world.url}${followPath}`);
      await resident.locator('[data-state=resolved]').waitFor({ timeout: 10_000 });
      expect(await resident.locator('ol.steps').textContent()).toContain('已更换路灯灯泡');
      expect(await resident.locator('img').count()).toBeGreaterThanOrEqual(2); // the resident's photo and the resolution's
      await resident.getByLabel(/^满意/).check();
      await resident.getByRole('button', { name: /提交评价/ }).click();
      await resident.getByText('感谢您的评价').waitFor({ timeout: 10_000 });
      expect(await resident.locator('[data-rating]').getAttribute('data-rating')).toBe('satisfied');

      // Closed by the rating: it leaves the wall live.
      await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
      const order = (await world.hub.api('GET', `/api/v1/work-orders/${id}`)).json as { state: string; rating: string };
      expect([order.state, order.rating]).toEqual(['closed', 'satisfied']);
      expect(center.problems()).toEqual([]);
      expect(vol.problems()).toEqual([]);
    } finally {
      await residentContext.close();
    }
  }, 60_000);
});
