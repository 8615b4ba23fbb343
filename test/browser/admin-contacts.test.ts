import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContactRoute } from '../../hub/notify/types.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { keepShot, overflowing, setLang, watch } from './checks.js';
import { PASSWORD, VIEWPORTS, launchChromium, loggedIn } from './support.js';

/**
 * Issue 17, item 1, on the admin screen in real Chromium: the admin adds a phone contact point to a
 * volunteer (typed with spaces; stored as E.164), presses 发送测试 and the hub queues a test to that
 * number through the outbox function; then adds a group robot for the estate and tests it. No
 * console error, no failed request, no text wider than its box, in both languages.
 */
describe('screens: contact points and group robots', () => {
  let t: TestHub;
  let browser: Browser;
  const sent: Array<{ route: ContactRoute; user: string | null }> = [];

  beforeAll(async () => {
    t = await startTestHub({
      notify: {
        channels: () => [
          { id: 'aliyun', type: 'sms-aliyun', accepts: ['phone'] },
          { id: 'robot-a', type: 'wecom-robot', accepts: ['group'] },
        ],
        sendTest: async (route, user) => {
          sent.push({ route, user: user?.name ?? null });
          return { id: `n-${sent.length}` };
        },
      },
    });
    await t.hub.registry.addStreet('street-1', '幸福街道');
    await t.hub.registry.addEstate('estate-a', { street: 'street-1', name: '枫林苑' });
    await t.addUser({ name: 'admin-1', role: 'admin', scopes: ['street:street-1'], password: PASSWORD });
    await t.addUser({ name: 'vol-a', displayName: '王小明', role: 'volunteer', scopes: ['estate:estate-a'], password: PASSWORD });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('adds a phone contact point to a volunteer and sends a test; adds a robot and tests it', async () => {
    const { context, page } = await loggedIn(browser, t.httpUrl, 'admin-1', VIEWPORTS.desktop, '/admin');
    await page.waitForURL('**/admin');
    const seen = watch(page);
    const box = page.locator('[data-testid=contacts]');
    await box.locator('select[name=contacts-user] option', { hasText: 'vol-a' }).waitFor({ state: 'attached', timeout: 10_000 });
    await box.locator('select[name=contacts-user]').selectOption({ label: '王小明 (vol-a)' });
    await box.getByText('还没有联系方式').waitFor({ timeout: 10_000 });
    const form = page.locator('[data-testid=add-contact]');
    await form.locator('select[name=contact-channel] option', { hasText: 'aliyun' }).waitFor({ state: 'attached' });
    await form.locator('input[name=contact-address]').fill('138 1234 5678');
    await form.locator('select[name=contact-severity]').selectOption('2');
    await form.getByRole('button', { name: '添加', exact: true }).click();
    const row = box.locator('tr[data-contact]');
    await row.filter({ hasText: '+8613812345678' }).waitFor({ timeout: 10_000 });
    await expect(row.textContent()).resolves.toContain('≥ 2');
    const vol = t.hub.people.users.byName('vol-a')!;
    expect(t.hub.contacts.contacts.list(vol.id)).toEqual([expect.objectContaining({ channelId: 'aliyun', address: '+8613812345678', minSeverity: 2 })]);

    await row.getByRole('button', { name: '发送测试' }).click();
    await page.locator('[data-testid=contacts-note]').filter({ hasText: '测试消息已排队发送到 +8613812345678' }).waitFor({ timeout: 10_000 });
    expect(sent).toEqual([{ route: { channelId: 'aliyun', address: { kind: 'phone', phone: '+8613812345678' }, lang: 'zh-CN', fallback: false }, user: 'vol-a' }]);
    expect((await t.hub.audit.query({ action: 'contact.test' })).items).toHaveLength(1);

    // A wrong number is refused with the hub's words, nothing stored.
    await form.locator('input[name=contact-address]').fill('12345');
    await form.getByRole('button', { name: '添加', exact: true }).click();
    await page.locator('[data-testid=contacts-note]').filter({ hasText: 'phone number' }).waitFor({ timeout: 10_000 });
    expect(t.hub.contacts.contacts.list(vol.id)).toHaveLength(1);

    // Quiet hours.
    const policy = page.locator('[data-testid=contact-policy]');
    await policy.locator('input[name=quiet]').check();
    await policy.locator('input[name=quiet-from]').fill('23:00');
    await policy.locator('input[name=quiet-to]').fill('06:00');
    await policy.getByRole('button', { name: '保存' }).click();
    await page.locator('[data-testid=contacts-note]').filter({ hasText: '已保存' }).waitFor({ timeout: 10_000 });
    expect(t.hub.contacts.contacts.policy(vol.id).quietHours).toEqual({ from: '23:00', to: '06:00' });

    // The estate's group robot.
    const robots = page.locator('[data-testid=robots]');
    await robots.getByText('此小区还没有群机器人').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid=add-robot] select[name=robot-channel] option', { hasText: 'robot-a' }).waitFor({ state: 'attached' });
    await page.locator('[data-testid=add-robot]').getByRole('button', { name: '添加', exact: true }).click();
    const robotRow = robots.locator('tr[data-robot]');
    await robotRow.filter({ hasText: '枫林苑' }).waitFor({ timeout: 10_000 });
    await robotRow.getByRole('button', { name: '发送测试' }).click();
    await page.locator('[data-testid=robots-note]').filter({ hasText: '测试消息已排队发送到群' }).waitFor({ timeout: 10_000 });
    expect(sent.at(-1)).toEqual({ route: { channelId: 'robot-a', address: { kind: 'group' }, lang: 'zh-CN', fallback: false }, user: null });

    for (const lang of ['en', 'zh-CN'] as const) {
      await setLang(page, lang);
      await page.waitForTimeout(300);
      expect(await overflowing(page), lang).toEqual([]);
      await page.locator('#h-contacts').scrollIntoViewIfNeeded();
      await keepShot(page, `admin-contacts-${lang}`);
    }
    await expect(page.getByRole('button', { name: '发送测试' }).first().isVisible()).resolves.toBe(true);
    // The refused number above answered 400 on purpose; nothing else failed.
    expect(seen.failed.filter((f) => !/^400 POST .*\/contacts$/.test(f))).toEqual([]);
    expect(seen.errors.filter((e) => !/status of 400/.test(e))).toEqual([]);
    await context.close();
  });
});
