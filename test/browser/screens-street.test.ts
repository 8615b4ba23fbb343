import type { Browser, Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/index.js';
import { endClient, makeEvent, publishOutcome } from '../support/hub.js';
import { fitsViewport, keepShot, overflowing, setLang, watch } from './checks.js';
import { API_TOKEN, ESTATE_B, STREET, VIEWPORTS, launchChromium, loggedIn, startWorld, waitLive, type World } from './support.js';

/**
 * Issue 15, item 3: the street overview names its street, lists the open and escalated alerts of all
 * its estates with age and level, lets the center act on them, and fills 1920×1080 without scrolling
 * and without text wider than its box, from 2 estates to 60, in both languages.
 */
const PREFIX = ['和平', '光明', '幸福', '建设', '解放', '人民', '红旗', '东风', '胜利', '团结', '新华', '朝阳', '向阳', '长青', '桃源', '紫竹', '银杏', '梧桐', '丁香', '玉兰'];
const SUFFIX = ['小区', '新村', '花园', '家园', '苑', '里', '北区', '东区', '二期'];
/** Names as old estates have them: short ones, and a few long ones (a factory's staff quarters). */
const LONG = ['纺织机械厂职工宿舍', '第二人民医院家属院', '市政工程公司宿舍区'];
const VERTICAL = '.estate-tile, .alert-list, .alert-row, .response';

describe('screens: the street overview', () => {
  let world: World;
  let browser: Browser;
  let gwB: MqttClient | undefined;

  beforeAll(async () => {
    world = await startWorld([{ name: 'center-1', role: 'center', scope: `street:${STREET}` }]);
    // Estate-b's alerts escalate at once, so the overview has an escalated one to show.
    const put = await world.hub.api('PUT', `/api/v1/estates/${ESTATE_B}/alert-settings`, { token: API_TOKEN, body: { escalation: { ackMinutes: [0, 0, 0] } } });
    expect(put.status).toBe(200);
    gwB = await world.hub.connect(await world.hub.provision(ESTATE_B, 'gw-1'));
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    if (gwB) await endClient(gwB);
    await browser?.close();
    await world?.stop();
  });

  async function publishB(type: 'device.tamper' | 'door.held', data: Record<string, unknown>, device: string): Promise<void> {
    const event = makeEvent({ estate: ESTATE_B, gateway: 'gw-1', device, type, data });
    expect(await publishOutcome(gwB!, topics.event(ESTATE_B, 'gw-1', device), JSON.stringify(event))).toBe('acked');
  }

  async function checkScreen(page: Page, name: string): Promise<void> {
    for (const lang of ['zh-CN', 'en'] as const) {
      await setLang(page, lang);
      await page.waitForTimeout(300);
      const fit = await fitsViewport(page);
      expect(fit.fits, `${name} ${lang} ${JSON.stringify(fit.size)}`).toBe(true);
      expect(await overflowing(page, VERTICAL), `${name} ${lang}`).toEqual([]);
      await keepShot(page, `${name}-${lang}`);
    }
    await setLang(page, 'zh-CN');
  }

  it('2 estates: names the street, lists open and escalated alerts with estate, age and level, and the center acts on one', async () => {
    expect((await world.gate.send('forced', { door: 1 })).status).toBe(200);
    await publishB('device.tamper', { zone: 1 }, 'gate-b1');
    await publishB('door.held', { door: 2 }, 'gate-b2');

    const { context, page } = await loggedIn(browser, world.hub.httpUrl, 'center-1', VIEWPORTS.screen);
    await page.waitForURL('**/street');
    const seen = watch(page);
    await waitLive(page);
    await expect.poll(() => page.locator('h1').first().textContent(), { timeout: 10_000 }).toContain('幸福街道');
    await expect.poll(() => page.locator('a.estate-tile').count(), { timeout: 10_000 }).toBe(2);
    const rows = page.locator('.street-alerts li.alert-row');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(3);
    // Every row names its estate, its age and how far it went; the escalated one says so.
    const texts = await rows.allTextContents();
    expect(texts.filter((x) => x.includes('枫林苑'))).toHaveLength(1);
    expect(texts.filter((x) => x.includes('桂花园'))).toHaveLength(2);
    for (const x of texts) expect(x).toMatch(/秒钟前|现在|分钟前/);
    await expect.poll(async () => (await page.locator('.street-alerts li.alert-row[data-state=escalated]').count()) > 0, { timeout: 20_000 }).toBe(true);
    const escalated = page.locator('.street-alerts li.alert-row[data-state=escalated]').first();
    expect(await escalated.textContent()).toMatch(/已通知(全体志愿者|巡查员|服务中心)/);
    expect(await escalated.textContent()).toContain('已升级');
    // The most urgent first: nobody acknowledged, highest severity.
    expect(await rows.first().getAttribute('data-state')).not.toBe('acknowledged');
    await checkScreen(page, 'street-2');

    // Act from the street: acknowledge estate-b's tamper alert in the side panel.
    const tamper = page.locator('.street-alerts li.alert-row').filter({ hasText: '设备被拆' }).first();
    const id = (await tamper.getAttribute('data-alert-id'))!;
    await tamper.click();
    const panel = page.locator(`[data-testid=alert-panel][data-alert-id="${id}"]`);
    await panel.locator('article.alert-detail').waitFor();
    expect(await panel.textContent()).toContain('桂花园');
    await panel.getByRole('button', { name: '确认', exact: true }).click();
    await expect.poll(() => page.locator(`.street-alerts li.alert-row[data-alert-id="${id}"]`).getAttribute('data-state'), { timeout: 10_000 }).toBe('acknowledged');
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });
    expect(seen.errors).toEqual([]);
    expect(seen.failed).toEqual([]);
    await context.close();
  }, 120_000);

  it('60 estates fill 1920x1080 without scrolling and without overflowing text, in both languages', async () => {
    const registry = world.hub.hub.registry;
    for (let i = 0; i < 58; i++) {
      const name = i < LONG.length ? LONG[i]! : `${PREFIX[i % PREFIX.length]}${SUFFIX[Math.floor(i / PREFIX.length) % SUFFIX.length]}`;
      await registry.addEstate(`estate-${String(i + 3).padStart(2, '0')}`, { street: STREET, name });
    }
    const { context, page } = await loggedIn(browser, world.hub.httpUrl, 'center-1', VIEWPORTS.screen);
    await page.waitForURL('**/street');
    const seen = watch(page);
    await waitLive(page);
    await expect.poll(() => page.locator('a.estate-tile').count(), { timeout: 15_000 }).toBe(60);
    await expect.poll(() => page.locator('[data-testid=estate-count]').textContent()).toBe('60');
    await page.locator('.street-alerts li.alert-row').first().waitFor({ timeout: 10_000 });
    // The red ones (open major alerts) come first.
    expect(await page.locator('a.estate-tile').first().getAttribute('class')).toMatch(/health-bad/);
    await checkScreen(page, 'street-60');
    // Every tile is big enough to touch.
    const smallest = (await page.evaluate("Math.min(...[...document.querySelectorAll('a.estate-tile')].map((e) => e.getBoundingClientRect().height))")) as number;
    expect(smallest).toBeGreaterThanOrEqual(44);
    expect(seen.errors).toEqual([]);
    expect(seen.failed).toEqual([]);
    await context.close();
  }, 120_000);
});
