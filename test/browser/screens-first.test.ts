import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepShot, overflowing, setLang, watch } from './checks.js';
import { ESTATE_A, ESTATE_B, STREET, VIEWPORTS, launchChromium, loggedIn, startWorld, type World } from './support.js';

/**
 * Issue 15, item 9, first impression: icons on every load, the app's own not-found page for an unknown
 * path, and one clear "outside your scope" page — with no request failing behind it — for a volunteer
 * who opens another estate's screen (before: five error boxes and 32 failed requests).
 */
describe('screens: icons, not found, outside your scope', () => {
  let world: World;
  let browser: Browser;

  beforeAll(async () => {
    world = await startWorld([
      { name: 'vol-b', role: 'volunteer', scope: `estate:${ESTATE_B}` },
      { name: 'center-1', role: 'center', scope: `street:${STREET}` },
    ]);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  /** Every icon the page links, and /favicon.ico, answer 200 with an image. */
  async function iconsAnswer(page: Page): Promise<void> {
    const hrefs = (await page.evaluate("[...document.querySelectorAll('link[rel~=icon], link[rel=apple-touch-icon], link[rel=manifest]')].map((l) => l.href)")) as string[];
    expect(hrefs.length).toBeGreaterThanOrEqual(3);
    for (const href of [...hrefs, `${world.hub.httpUrl}/favicon.ico`]) {
      const res = await page.request.get(href);
      expect(res.status(), href).toBe(200);
      expect(res.headers()['content-type'], href).toMatch(/image|manifest/);
    }
  }

  it('the overflow check catches text wider than its box (so a pass means something)', async () => {
    const context = await browser.newContext({ viewport: VIEWPORTS.screen });
    const page = await context.newPage();
    await page.setContent('<p id="cut" style="width:60px;overflow:hidden;white-space:nowrap">a line far too long for it</p><p class="sr-only" style="position:absolute;width:1px;overflow:hidden;white-space:nowrap">hidden label</p><div class="box" style="height:20px;overflow:hidden">one<br>two<br>three</div>');
    const found = await overflowing(page, '.box');
    expect(found).toHaveLength(2);
    expect(found[0]).toContain('p#cut');
    expect(found[1]).toContain('height');
    await context.close();
  }, 30_000);

  it('every page links icons that answer 200; no icon request fails', async () => {
    const context = await browser.newContext({ viewport: VIEWPORTS.screen, baseURL: world.hub.httpUrl });
    const page = await context.newPage();
    const seen = watch(page);
    for (const path of ['/', '/login', `/estate/${ESTATE_A}`]) {
      await page.goto(path);
      await page.locator('input[name=name]').waitFor();
      await iconsAnswer(page);
    }
    expect(seen.failed.filter((f) => /favicon|icon|manifest/.test(f))).toEqual([]);
    expect(seen.failed).toEqual([]);
    expect(seen.errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('an unknown path shows the app\'s not-found page (404), signed out and signed in, in both languages', async () => {
    const context = await browser.newContext({ viewport: VIEWPORTS.screen, baseURL: world.hub.httpUrl, locale: 'zh-CN' });
    const page = await context.newPage();
    const res = await page.goto('/no/such/page');
    expect(res?.status()).toBe(404);
    const notFound = page.locator('[data-testid=not-found]');
    await notFound.waitFor();
    expect(await notFound.locator('h1').textContent()).toBe('找不到这个页面');
    expect(await notFound.textContent()).toContain('/no/such/page');
    await iconsAnswer(page);
    // Its button leads on: to the login when signed out.
    await page.locator('[data-testid=go-home]').click();
    await page.locator('input[name=name]').waitFor();
    await context.close();

    const { context: c2, page: p2 } = await loggedIn(browser, world.hub.httpUrl, 'center-1', VIEWPORTS.screen);
    await p2.waitForURL('**/street');
    const seen = watch(p2);
    const r2 = await p2.goto('/estates/typo');
    expect(r2?.status()).toBe(404);
    await p2.locator('[data-testid=not-found]').waitFor();
    for (const lang of ['zh-CN', 'en'] as const) {
      await setLang(p2, lang);
      expect(await p2.locator('[data-testid=not-found] h1').textContent()).toBe(lang === 'en' ? 'Page not found' : '找不到这个页面');
      expect(await overflowing(p2), lang).toEqual([]);
      await keepShot(p2, `not-found-${lang}`);
    }
    await setLang(p2, 'zh-CN');
    await p2.locator('[data-testid=go-home]').click();
    await p2.waitForURL('**/street');
    // The one 404 is the unknown page itself.
    expect(seen.failed.filter((f) => !f.includes('/estates/typo'))).toEqual([]);
    expect(seen.errors.filter((e) => !/404/.test(e))).toEqual([]);
    await c2.close();
  }, 60_000);

  it('a volunteer on another estate\'s screen sees one "outside your scope" page, and not a request fails', async () => {
    const { context, page } = await loggedIn(browser, world.hub.httpUrl, 'vol-b', VIEWPORTS.screen);
    await page.waitForURL('**/me');
    await page.locator('[data-testid=conn].conn-connected').waitFor({ timeout: 15_000 });
    const seen = watch(page);
    const asked: string[] = [];
    page.on('request', (r) => asked.push(r.url()));
    await page.goto(`/estate/${ESTATE_A}`);
    const refused = page.locator('[data-testid=out-of-scope]');
    await refused.waitFor({ timeout: 10_000 });
    await page.waitForTimeout(1_500); // anything still to come would be sent by now
    expect(await page.locator('[data-testid=out-of-scope]').count()).toBe(1);
    expect(await page.locator('.error, [role=alert]').count()).toBe(0);
    expect(await refused.textContent()).toContain('超出你的权限范围');
    expect(await refused.textContent()).toContain(ESTATE_A);
    expect(seen.failed.length, seen.failed.join('\n')).toBeLessThanOrEqual(1);
    expect(asked.filter((u) => u.includes(`/${ESTATE_A}`) || u.includes(`estate=${ESTATE_A}`)).filter((u) => u.includes('/api/'))).toEqual([]);
    for (const lang of ['zh-CN', 'en'] as const) {
      await setLang(page, lang);
      expect(await refused.locator('h1').textContent()).toBe(lang === 'en' ? 'Outside your scope' : '超出你的权限范围');
      expect(await overflowing(page), lang).toEqual([]);
      await keepShot(page, `out-of-scope-${lang}`);
    }
    await setLang(page, 'zh-CN');
    // Back to the volunteer's own page.
    await page.locator('[data-testid=go-home]').click();
    await page.waitForURL('**/me');
    expect(seen.errors, seen.failed.join('\n')).toEqual([]);
    await context.close();
  }, 60_000);

  it('an estate that does not exist gets the same single page for the center', async () => {
    const { context, page } = await loggedIn(browser, world.hub.httpUrl, 'center-1', VIEWPORTS.screen, '/estate/no-such-estate');
    await page.waitForURL('**/estate/no-such-estate');
    const seen = watch(page);
    await page.locator('[data-testid=out-of-scope]').waitFor({ timeout: 10_000 });
    await page.waitForTimeout(1_000);
    expect(seen.failed).toEqual([]);
    expect(seen.errors).toEqual([]);
    await context.close();
  }, 60_000);
});
