import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESTATE_A, phone, startPhoneWorld, watch, type PhoneWorld } from './phone-support.js';
import { launchChromium, PASSWORD, waitLive } from './support.js';

/**
 * Sessions like an app (issue 15): the session lives in localStorage with a refresh token, so closing
 * the tab and opening the app again keeps the volunteer signed in; an access token the hub refuses is
 * renewed once with the refresh token; logging out revokes it at the hub; a password change signs the
 * other sessions out (the hub drops their sockets and refuses their tokens).
 */
describe('phone: sessions', () => {
  let world: PhoneWorld;
  let browser: Browser;

  beforeAll(async () => {
    world = await startPhoneWorld([{ name: 'vol-a', displayName: '王小明', role: 'volunteer', scopes: [`estate:${ESTATE_A}`] }]);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  const stored = (page: Page) => page.evaluate(`JSON.parse(localStorage.getItem('rb.session') ?? 'null')`) as Promise<{ token: string; refreshToken?: string; expiresAt: number } | null>;

  it('closing the tab and opening the app again keeps the volunteer signed in; a refused access token is renewed once; logout revokes the refresh token', async () => {
    const first = await phone(browser, world.hub.httpUrl, 'vol-a');
    await waitLive(first.page);
    const s1 = await stored(first.page);
    expect(s1?.refreshToken).toBeTruthy();
    expect(await first.page.evaluate(`sessionStorage.getItem('rb.session')`)).toBeNull();
    await first.page.close();

    // A new tab in the same browser (a phone's browser reopened): straight to the phone, signed in.
    const again = await first.context.newPage();
    const issues = watch(again);
    await again.goto('/me');
    await waitLive(again);
    await again.locator('#h-mine').waitFor();
    expect(await again.locator('input[name=password]').count()).toBe(0);

    // An access token the hub no longer takes (expired while the phone slept): one refresh with the
    // refresh token, the request retried, and the volunteer never sees the login screen.
    await again.evaluate(`(() => {
      const s = JSON.parse(localStorage.getItem('rb.session'));
      localStorage.setItem('rb.session', JSON.stringify({ ...s, token: 'eyJhbGciOiJIUzI1NiJ9.e30.invalid', expiresAt: Date.now() + 3600000 }));
    })()`);
    await again.reload();
    await waitLive(again);
    await again.locator('.phone-tabs [data-tab=history]').click();
    await again.locator('#h-history').waitFor();
    await expect.poll(async () => (await stored(again))?.token, { timeout: 10_000 }).not.toBe('eyJhbGciOiJIUzI1NiJ9.e30.invalid');
    expect(await again.locator('input[name=password]').count()).toBe(0);
    // The refused requests were the stale token's 401s, each followed by a good retry.
    expect(issues.problems().filter((p) => !/^HTTP 401: |status of 401/.test(p))).toEqual([]);

    // Logout: the hub revokes the refresh token; it renews nothing any more.
    const s2 = (await stored(again))!;
    const logout = again.waitForRequest((r) => r.url().endsWith('/api/v1/auth/logout') && r.method() === 'POST');
    await again.locator('[data-testid=logout]').click();
    expect(JSON.parse((await logout).postData() ?? '{}')).toEqual({ refreshToken: s2.refreshToken });
    await again.locator('input[name=password]').waitFor();
    expect(await stored(again)).toBeNull();
    await expect.poll(async () => (await world.hub.api('POST', '/api/v1/auth/refresh', { token: null, body: { refreshToken: s2.refreshToken } })).status, { timeout: 5_000 }).toBe(401);
    await first.context.close();
  }, 90_000);

  it('changing the password over REST signs the other session out', async () => {
    const { context, page } = await phone(browser, world.hub.httpUrl, 'vol-a');
    await waitLive(page);
    const id = world.users.get('vol-a')!;
    const r = await world.hub.api('POST', `/api/v1/users/${id}/password`, { body: { password: `${PASSWORD}-new` } });
    expect(r.status).toBe(200);
    // Without touching the page: the hub drops its socket, the reconnect is refused, the refresh too.
    await page.locator('input[name=password]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[role=alert]').first().textContent()).toBe('登录已失效（密码已修改或已在别处退出），请重新登录');
    expect(await stored(page)).toBeNull();
    // And opening the app again does not bring the old session back.
    await page.goto('/me');
    await page.locator('input[name=password]').waitFor();
    await context.close();
  }, 60_000);
});
