import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { topics } from '../../protocol/index.js';
import type { ContactRoute } from '../../hub/notify/types.js';
import { makeEvent, startTestHub, type TestHub } from '../support/hub.js';
import { HTTP_TEST_PLUGIN, PROVIDER_TOKEN, phoneRoute, startNotifyProvider, staticContactBook, type NotifyProvider } from '../support/notify-provider.js';
import { phone } from './phone-support.js';
import { launchChromium, PASSWORD } from './support.js';

/**
 * Issue 17 item 2 on the screen: the alert detail shows who was told off-screen, through which
 * channel (address masked), when, and whether it arrived — in zh-CN and in English.
 */
describe('alert detail: who was told', () => {
  const ESTATE = 'maple';
  const routes: Record<string, ContactRoute[]> = {};
  let t: TestHub;
  let provider: NotifyProvider;
  let gw: MqttClient;
  let browser: Browser;

  beforeAll(async () => {
    provider = await startNotifyProvider();
    t = await startTestHub({
      notify: { channelPlugins: [HTTP_TEST_PLUGIN], contactBook: staticContactBook(routes) },
      config: { notify: { channels: [{ id: 'sms', type: 'http-test', url: provider.url, token: PROVIDER_TOKEN }] } },
    });
    await t.hub.registry.addEstate(ESTATE, { name: '枫林苑' });
    const u = await t.addUser({ name: 'vol-a', displayName: '王小明', role: 'volunteer', scopes: [`estate:${ESTATE}`], password: PASSWORD });
    routes[u.id] = [phoneRoute('sms', '13800138000')];
    for (let weekday = 1; weekday <= 7; weekday++) await t.hub.roster.addShift({ user: u.id, estate: ESTATE, weekday, start: '00:00', end: '24:00' });
    await t.api('PUT', `/api/v1/estates/${ESTATE}/alert-settings`, { body: { quietHours: { maxSeverity: 0 } } });
    gw = await t.connect(await t.provision(ESTATE, 'gw-1'));
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await provider?.close();
  });

  it('lists the notification with the person, the masked number and its state', async () => {
    const e = makeEvent({ estate: ESTATE, gateway: 'gw-1', device: 'door-1' });
    await gw.publishAsync(topics.event(ESTATE, 'gw-1', 'door-1'), JSON.stringify(e), { qos: 1 });
    await expect.poll(() => provider.accepted.length, { timeout: 10_000 }).toBe(1);
    // Recorded as sent (the provider's answer reaches the row a moment after the provider counted it).
    const alertId = ((await t.api('GET', `/api/v1/alerts?estate=${ESTATE}`)).json.items as Array<{ id: string }>)[0]!.id;
    await expect
      .poll(async () => ((await t.api('GET', `/api/v1/alerts/${alertId}/notifications`)).json as unknown as Array<{ state: string }>)[0]?.state, { timeout: 5_000 })
      .toBe('sent');

    for (const lang of ['zh-CN', 'en'] as const) {
      const { context, page } = await phone(browser, t.httpUrl, 'vol-a', lang);
      const card = page.locator('li.card[data-alert-id]').first();
      await card.waitFor({ timeout: 20_000 });
      await card.locator('[data-testid=details]').click();
      const list = page.locator('[data-testid=notifications]');
      await list.waitFor({ timeout: 10_000 });
      const text = (await list.textContent()) ?? '';
      if (lang === 'zh-CN') {
        expect(text).toContain('通知送达');
        expect(text).toContain('第0级 · 王小明');
        expect(text).toContain('已发送');
      } else {
        expect(text).toContain('Who was told');
        expect(text).toContain('L0 · 王小明');
        expect(text).toContain('Sent');
      }
      expect(text).toContain('sms 138****8000');
      expect(text).not.toContain('13800138000');
      expect(await list.locator('li').first().getAttribute('data-state')).toBe('sent');
      await context.close();
    }
  }, 90_000);
});
