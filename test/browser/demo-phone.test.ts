import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS, ESTATES } from '../../cli/demo-street.js';
import { startCli, stopProcess } from '../support/cli.js';
import { waitFor } from '../support/hub.js';
import { freePort } from '../support/ports.js';
import { launchChromium, VIEWPORTS } from './support.js';

/**
 * Issue 15, "commands that tell the truth", as a volunteer meets it: `red-butler demo` as its own
 * process tree, each estate's volunteer on the phone view (360×740, real Chromium) opens every door
 * and raises every barrier of their estate, and each answer says it worked.
 */
describe('the demo, from the phone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-demo-phone-'));
  let demo: ReturnType<typeof startCli> | undefined;
  let browser: Browser;
  let base: string;
  beforeAll(async () => {
    const [httpPort, mqttPort, pushPort] = [await freePort(), await freePort(), await freePort()];
    demo = startCli(['demo', '--data-dir', join(dir, 'demo'), '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--push-port', String(pushPort)]);
    base = `http://127.0.0.1:${httpPort}`;
    expect(await waitFor(() => /API token \(admin, scripts\): \S+/.test(demo!.output()), 30_000, 100), demo.output()).toBe(true);
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    if (demo) await stopProcess(demo);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const estate of ESTATES) {
    it(`the volunteer of ${estate.id} opens every door and barrier of the estate`, async () => {
      const user = DEMO_USERS.find((u) => u.role === 'volunteer' && (u.scopes as readonly string[]).includes(`estate:${estate.id}`))!;
      const devices = [...estate.gates.map((g) => g.id), ...(estate.zkteco ? [estate.zkteco.id] : []), estate.barrier.id].sort();
      const context = await browser.newContext({ viewport: VIEWPORTS.phone, baseURL: base, locale: 'zh-CN' });
      const page = await context.newPage();
      const failed: string[] = [];
      page.on('requestfailed', (r) => failed.push(r.url()));
      page.on('response', (r) => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`));
      try {
        await page.goto('/me');
        await page.locator('input[name=name]').fill(user.name);
        await page.locator('input[name=password]').fill(user.password);
        await page.locator('button[type=submit]').click();
        const buttons = page.locator('.cmd-buttons button[data-command]');
        // The buttons come from the live state: every gate and barrier once its gateway reported it
        // (a controller with two doors gets a button per door once both were seen).
        const shown = async (): Promise<string[]> => [...new Set(await buttons.evaluateAll((bs) => bs.map((b) => b.getAttribute('data-device') ?? '')))].sort();
        await expect.poll(shown, { timeout: 20_000 }).toEqual(devices);
        const targets = await buttons.evaluateAll((bs) => bs.map((b) => ({ device: b.getAttribute('data-device')!, label: b.textContent ?? '' })));
        for (const device of devices) {
          // Buttons name devices, not ids.
          expect(targets.some((x) => x.label.includes(device))).toBe(false);
        }
        for (const target of targets) {
          await page.locator(`.cmd-buttons button[data-device="${target.device}"]`, { hasText: target.label }).first().click();
          await page.locator('[data-testid=cmd-yes]').click();
          const result = page.locator('[data-testid=cmd-result]');
          await result.waitFor({ timeout: 20_000 });
          expect(await result.getAttribute('data-ok'), `${target.label}: ${await result.textContent()}`).toBe('true');
        }
        expect(failed).toEqual([]);
      } finally {
        await context.close();
      }
    }, 90_000);
  }
});
