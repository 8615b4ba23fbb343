import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESTATE_A, VIEWPORTS, launchChromium, loggedIn, startWorld, waitLive, type World } from './support.js';

/**
 * Live and honest: while the hub is away the screen says so (role="alert"), and when the hub comes
 * back on the same address and data dir the socket reconnects with `auth.since`, the banner goes,
 * and what happened meanwhile shows up (replay or REST resync).
 */
describe('screens: the disconnected banner and catching up after a hub restart', () => {
  let world: World;
  let browser: Browser;

  beforeAll(async () => {
    world = await startWorld([{ name: 'vol-a', role: 'volunteer', scope: `estate:${ESTATE_A}` }]);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  it('shows the banner while the hub is stopped, clears it when it returns, and shows what was missed', async () => {
    const { context, page } = await loggedIn(browser, world.hub.httpUrl, 'vol-a', VIEWPORTS.phone);
    await page.waitForURL('**/me');
    await waitLive(page);
    const banner = page.locator('[role=alert][data-testid=offline-banner]');
    expect(await banner.count()).toBe(0);

    await world.stopHub();
    await banner.waitFor({ timeout: 15_000 }).catch(async (err: unknown) => {
      // Say what the page showed instead (the login screen after a refused reconnect, a blank page…).
      console.error(`no banner; the page at ${page.url()} showed: ${(await page.content()).slice(0, 1000)}`);
      throw err;
    });
    expect(await banner.textContent()).toContain('实时连接已断开');

    // Something happens while the hub is down: the gateway keeps it in its outbox.
    expect((await world.gate.send('forced')).status).toBe(200);

    await world.restartHub();
    await banner.waitFor({ state: 'detached', timeout: 30_000 });
    await waitLive(page);
    // The alert raised from the held-back event reaches the phone without a reload.
    await page.locator('li.card[data-alert-id]').filter({ hasText: '门被强行打开' }).first().waitFor({ timeout: 30_000 });
    await context.close();
  }, 120_000);
});
