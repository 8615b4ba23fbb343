import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overflowing, phone, startShiftWorld, type PhoneWorld } from './phone-support.js';
import { waitLive } from './support.js';

/** Data the hub holds in Chinese (names, notes), and the button back to Chinese: allowed in the English screens. */
const DATA = ['中文', '枫林苑', '桂花园', '北门摄像机', '北门', '南门', '王小明', '李红', '王**', '李*', '换班前巡查一遍，北门正常', '已到场，门已关好'];

/** Lines of the page that still hold Han characters once the data above is taken out. */
async function untranslated(page: Page): Promise<string[]> {
  const text = await page.locator('body').innerText();
  return text
    .split('\n')
    .map((line) => [...DATA].sort((a, b) => b.length - a.length).reduce((l, d) => l.split(d).join(''), line))
    .filter((line) => /\p{Script=Han}/u.test(line));
}

/** The top bar is one line: its height is one row of controls, and nothing in it is cut. */
async function topBarFits(page: Page): Promise<{ height: number; overflow: boolean }> {
  return page.evaluate(`(() => {
    const bar = document.querySelector('.topbar');
    return { height: bar.getBoundingClientRect().height, overflow: bar.scrollWidth > bar.clientWidth + 1 };
  })()`);
}

/**
 * Honest labels at 360×740 (issue 15), in both languages, on every phone view: no console error, no
 * failed request, no text wider than its box, a one-line top bar, "我 已确认" said once, no 暂无抓拍
 * where no camera is linked, the language switch translating everything already on screen, and ages
 * that never read "in the future" whichever way the phone's clock is off.
 */
describe('phone: honest labels at 360×740', () => {
  let world: PhoneWorld;
  let browser: Browser;

  beforeAll(async () => {
    ({ world, browser } = await startShiftWorld());
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  it('every phone view fits 360 px in zh-CN and in English, and the switch translates what is already shown', async () => {
    const { context, page, issues } = await phone(browser, world.hub.httpUrl, 'vol-a');
    await waitLive(page);
    // Something in every view: an acknowledged alarm whose door closed, one resolved with a note, a hand-over note.
    expect((await world.a.gate.send('forced', { door: 1 })).status).toBe(200);
    const card = page.locator('li.card[data-alert-id]').first();
    await card.waitFor({ timeout: 20_000 });
    const id = (await card.getAttribute('data-alert-id'))!;
    await card.locator('img.snapshot[data-sha]').waitFor({ timeout: 30_000 });
    await card.getByRole('button', { name: '确认' }).click();
    await expect.poll(() => card.locator('[data-testid=alert-state]').textContent(), { timeout: 10_000 }).toBe('我 已确认');
    expect((await world.a.gate.send('door-close', { door: 1 })).status).toBe(200);
    await card.locator('[data-testid=cleared]').waitFor({ timeout: 10_000 });
    expect((await world.a.gate.send('forced', { door: 2 })).status).toBe(200);
    await page.locator('li.card[data-alert-id]').nth(1).waitFor({ timeout: 20_000 });
    const other = (await page.locator('li.card[data-alert-id]').nth(1).getAttribute('data-alert-id'))!;
    expect((await world.hub.api('POST', `/api/v1/alerts/${id === other ? id : other}/resolve`, { body: { note: '已到场，门已关好' } })).status).toBe(200);
    // A failed command, to have its words on screen too.
    world.a.gate.failNext(1);
    await page.locator('button[data-device="gate-north"]').first().click();
    await page.locator('[data-testid=cmd-yes]').click();
    await page.locator('[data-testid=cmd-result][data-ok=false]').waitFor({ timeout: 15_000 });

    const views: Array<[string, () => Promise<void>]> = [
      ['alerts', async () => {
        await page.locator('.phone-tabs [data-tab=alerts]').click();
        await page.locator('#h-mine').waitFor();
      }],
      ['detail', async () => {
        await page.goto(`/me?alert=${id}`);
        await page.locator('[data-testid=timeline]').waitFor({ timeout: 10_000 });
        await page.locator('.ad-linked li').first().waitFor({ timeout: 10_000 });
        await page.locator('[data-testid=snapshot-open] img').waitFor({ timeout: 10_000 });
      }],
      ['history', async () => {
        await page.locator('.phone-tabs [data-tab=history]').click();
        await page.locator('.history li[data-alert-id]').first().waitFor({ timeout: 10_000 });
      }],
      ['handover', async () => {
        await page.locator('.phone-tabs [data-tab=handover]').click();
        await page.locator('[data-testid=handover-note]').waitFor({ timeout: 10_000 });
      }],
    ];
    await page.locator('.phone-tabs [data-tab=handover]').click();
    await page.locator('[data-testid=handover-start]').click();
    await page.locator('[data-testid=handover-text]').fill('换班前巡查一遍，北门正常');
    await page.getByRole('button', { name: '确认交班' }).click();
    await page.locator('[data-testid=handover-done]').waitFor({ timeout: 10_000 });

    for (const lang of ['zh-CN', 'en'] as const) {
      for (const [name, open] of views) {
        await open();
        await page.waitForTimeout(300);
        expect({ view: name, lang, overflow: await overflowing(page) }).toEqual({ view: name, lang, overflow: [] });
        const bar = await topBarFits(page);
        expect({ view: name, lang, ...bar, oneLine: bar.height <= 64 }).toEqual({ view: name, lang, height: bar.height, overflow: false, oneLine: true });
        // No 暂无抓拍 anywhere: the alerts here have snapshots, and 南门 has no camera.
        expect(await page.locator('body').innerText()).not.toContain('暂无抓拍');
      }
      // Switch on the alerts tab, where a card, a failed command and stored errors are on screen.
      if (lang === 'zh-CN') {
        await views[0]![1]();
        expect(await page.locator('[data-testid=cmd-result]').count()).toBe(0); // left the tab: gone
        world.a.gate.failNext(1);
        await page.locator('button[data-device="gate-north"]').first().click();
        await page.locator('[data-testid=cmd-yes]').click();
        await page.locator('[data-testid=cmd-result][data-ok=false]').waitFor({ timeout: 15_000 });
        await page.locator('[data-testid=lang]').click();
        await expect.poll(() => page.locator('#h-mine').textContent()).toContain('Open alerts');
        expect(await untranslated(page)).toEqual([]);
        expect(await card.locator('[data-testid=alert-state]').textContent()).toBe('Acknowledged by me');
        expect(await card.locator('[data-testid=cleared]').textContent()).toMatch(/^door closed \d\d:\d\d/);
      } else {
        for (const [, open] of views) {
          await open();
          expect(await untranslated(page)).toEqual([]);
        }
      }
    }
    await page.locator('[data-testid=lang]').click();
    expect(issues.problems()).toEqual([]);
    await context.close();
  }, 180_000);

  it('ages never read as in the future, and are right, with the phone clock 10 minutes behind or ahead of the hub', async () => {
    for (const skew of [-10 * 60_000, 10 * 60_000]) {
      const context = await browser.newContext({ viewport: { width: 360, height: 740 }, baseURL: world.hub.httpUrl, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
      const page = await context.newPage();
      await page.clock.install({ time: Date.now() + skew });
      await page.goto('/');
      await page.locator('input[name=name]').fill('vol-b');
      await page.locator('input[name=password]').fill('browser-test-pass-1');
      await page.locator('button[type=submit]').click();
      await page.waitForURL('**/me');
      await waitLive(page);
      expect((await world.a.gate.send('forced', { door: 3 })).status).toBe(200);
      const age = page.locator('li.card[data-alert-id] time').first();
      await age.waitFor({ timeout: 20_000 });
      // Fresh: "现在" or seconds ago — not "10分钟后" (behind) nor "10分钟前" (ahead).
      await expect.poll(() => age.textContent(), { timeout: 10_000 }).toMatch(/^(现在|\d+秒钟前)$/);
      const resolved = await world.hub.api('GET', '/api/v1/alerts?state=open,acknowledged,escalated&limit=100');
      for (const a of resolved.json.items as Array<{ id: string }>) await world.hub.api('POST', `/api/v1/alerts/${a.id}/resolve`, { body: { note: 'clock test' } });
      await context.close();
    }
  }, 90_000);
});
