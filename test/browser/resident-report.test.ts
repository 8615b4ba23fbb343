import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';
import { phoneJpeg } from '../hub/residents/world.js';
import { launchChromium, VIEWPORTS } from './support.js';

/**
 * Issue 19, "Must show" (the resident's half): real Chromium at 360×740 against a real hub. A resident
 * opens the estate's QR link, files a repair with a real JPEG (GPS in its EXIF), gets the number and the
 * private follow link; staff resolve it over REST; the follow link shows it resolved and takes a rating.
 */
describe('resident report at 360×740', () => {
  let hub: TestHub;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const dir = mkdtempSync(join(tmpdir(), 'rb-resident-'));
  const problems: string[] = [];

  beforeAll(async () => {
    hub = await startTestHub({});
    await hub.hub.registry.addEstate('estate-a', { name: '枫林苑' });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: VIEWPORTS.phone, locale: 'zh-CN', isMobile: true, hasTouch: true });
    page = await context.newPage();
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('requestfailed', (r) => problems.push(`${r.url()} ${r.failure()?.errorText}`));
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Nothing wider than the phone: the page does not scroll sideways. */
  const fits = (): Promise<boolean> => page.evaluate(`document.documentElement.scrollWidth <= ${VIEWPORTS.phone.width}`) as Promise<boolean>;

  it('files a repair with a photo, follows it, and rates it once resolved', async () => {
    const photo = join(dir, 'IMG_20261207_0930.jpg');
    writeFileSync(photo, await phoneJpeg(1600, 1200));

    await page.goto(`${hub.httpUrl}/r/estate-a`);
    await expect.poll(() => page.locator('.estate').textContent()).toBe('枫林苑');
    expect(await fits()).toBe(true);
    await page.getByLabel('报修').check();
    await page.locator('#building').fill('3号楼');
    await page.locator('#unit').fill('2单元 501');
    await page.locator('#description').fill('楼道灯不亮<script>alert(1)</script>');
    await page.locator('input[type=file][name=photo]').first().setInputFiles(photo);
    await page.locator('#phone').fill('13800138000');
    await page.getByRole('button', { name: /提交/ }).click();

    const no = (await page.locator('[data-order-no]').textContent({ timeout: 15_000 }))!;
    expect(no).toMatch(/^GD\d{8}-\d{4}$/);
    expect(await fits()).toBe(true);
    const link = page.locator('[data-follow-link]');
    expect(await link.textContent()).toMatch(new RegExp(`^${hub.httpUrl}/r/f/[A-Za-z0-9_-]{16,}$`));

    // Stored (committed) before the page said so: staff see it with its photo, metadata gone.
    const list = await hub.api('GET', '/api/v1/work-orders?estate=estate-a');
    expect(list.status).toBe(200);
    const items = list.json.items as { id: string; no: string; source: string; description: string }[];
    expect(items.map((o) => [o.no, o.source, o.description])).toEqual([[no, 'resident', '楼道灯不亮<script>alert(1)</script>']]);
    const id = items[0]!.id;
    const detail = await hub.api('GET', `/api/v1/work-orders/${id}`);
    const photos = (detail.json.steps as { photos: { url: string }[] }[]).flatMap((s) => s.photos);
    expect(photos).toHaveLength(1);
    const img = await fetch(`${hub.httpUrl}${photos[0]!.url}`, { headers: { authorization: `Bearer ${hub.apiToken}` } });
    expect(img.status).toBe(200);
    const meta = await sharp(Buffer.from(await img.arrayBuffer())).metadata();
    expect([meta.format, meta.exif]).toEqual(['jpeg', undefined]);
    expect(await hub.metric('rb_resident_reports_accepted_total')).toBe(1);

    // The follow link: received, the description shown as text.
    await link.click();
    await page.locator('[data-state=new]').waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-description]').textContent()).toBe('楼道灯不亮<script>alert(1)</script>');
    expect(await page.locator('script').count()).toBe(0);
    expect(await fits()).toBe(true);
    const followUrl = page.url();

    // Staff take it and resolve it with a note.
    const staff = await hub.addUser({ name: 'center-a', role: 'center', scopes: ['estate:estate-a'] });
    for (const body of [{ action: 'assign', user: staff.id }, { action: 'start' }, { action: 'resolve', note: '已更换灯泡' }]) {
      const r = await hub.api('POST', `/api/v1/work-orders/${id}/actions`, { token: staff.token, body });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
    }

    await page.goto(followUrl);
    await page.locator('[data-state=resolved]').waitFor({ timeout: 10_000 });
    expect(await page.locator('ol.steps').textContent()).toContain('已更换灯泡');
    expect(await page.locator('body').textContent()).not.toContain('center-a');
    await page.getByLabel(/^满意/).check();
    await page.locator('#note').fill('很快，谢谢');
    await page.getByRole('button', { name: /提交评价/ }).click();
    await page.getByText('感谢您的评价').waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-rating]').getAttribute('data-rating')).toBe('satisfied');
    expect(await page.locator('input[name=rating]').count()).toBe(0);
    const after = await hub.api('GET', `/api/v1/work-orders/${id}`);
    expect(after.json.rating).toBe('satisfied');
    expect(problems).toEqual([]);
  });

  it('refuses a file that is not a photo with a readable page, keeping what was typed', async () => {
    const fake = join(dir, 'broken.jpg');
    writeFileSync(fake, 'this is a text file, not a photo\n');
    await page.goto(`${hub.httpUrl}/r/estate-a`);
    await page.getByLabel('噪音扰民').check();
    await page.locator('#description').fill('夜里施工');
    await page.locator('input[type=file][name=photo]').nth(1).setInputFiles(fake);
    const [answer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/r/estate-a') && r.request().method() === 'POST'), page.getByRole('button', { name: /提交/ }).click()]);
    expect(answer.status()).toBe(400);
    await page.getByText('文件“broken.jpg”不是照片或已损坏').waitFor({ timeout: 10_000 });
    expect(await page.locator('#description').inputValue()).toBe('夜里施工');
    expect(await page.getByLabel('噪音扰民').isChecked()).toBe(true);
    expect(await fits()).toBe(true);
    expect(((await hub.api('GET', '/api/v1/work-orders?estate=estate-a')).json.items as unknown[]).length).toBe(1);
  });
});
