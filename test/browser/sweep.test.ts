import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepShot, overflowing, watch } from './checks.js';
import { API_TOKEN, ESTATE_A, ESTATE_B, STREET, VIEWPORTS, launchChromium, login, startWorld, type World } from './support.js';

/**
 * Issue 15, must-show: no console error and no failed request on any screen at 360×740 and 1920×1080, in
 * both languages; no text wider than its box. One sweep over every route of the app, as the roles that
 * use it, at both sizes and in both languages (the other browser tests check what each screen does).
 *
 * "Works" for a screen drawn for the other size: the command center (`/estate/<id>`) and the street
 * overview (`/street`) are laid out for a 1920×1080 wall, and the phone page (`/me`) for a 360×740 phone.
 * On the other size they must still load with no console error and no failed request, and must not cut
 * text: the page scrolls (the wall layouts stack into one column below 720 px, web/src/styles.css) or a
 * box scrolls (`overflow: auto`, the admin's tables), but no text is wider than its box and no tile or
 * alert row is cut at the bottom. That
 * they fill the wall without scrolling is checked by screens-command and screens-street, not here.
 *
 * A failed request is any answer ≥ 400 or a request that fails on the network, except the deliberate
 * 404 of the unknown path's document itself.
 */
interface Visit {
  /** Who looks: a user name, or null when signed out. */
  who: string | null;
  path: string;
  /** What shows once the screen has drawn its data. */
  ready: string;
}

const ALERT = '__ALERT__';
const VISITS: Visit[] = [
  { who: null, path: '/login', ready: 'input[name=name]' },
  { who: null, path: '/no/such/page', ready: '[data-testid=not-found]' },
  { who: 'vol-a', path: '/me', ready: 'main.phone-main' },
  { who: 'vol-a', path: '/me?tab=history', ready: 'main.phone-main' },
  { who: 'vol-a', path: '/me?tab=handover', ready: 'main.phone-main' },
  { who: 'vol-a', path: `/me?alert=${ALERT}`, ready: 'article.alert-detail[data-state]' },
  { who: 'vol-a', path: `/estate/${ESTATE_A}`, ready: '.screen-main' },
  { who: 'vol-a', path: `/estate/${ESTATE_B}`, ready: '[data-testid=out-of-scope]' },
  { who: 'vol-a', path: '/roster', ready: '[data-testid=role-only]' },
  { who: 'vol-a', path: '/patrol', ready: '[data-testid=role-only]' },
  { who: 'vol-a', path: '/no/such/page', ready: '[data-testid=not-found]' },
  { who: 'center-1', path: '/street', ready: 'main.street-main' },
  { who: 'center-1', path: `/estate/${ESTATE_A}`, ready: '.screen-main' },
  { who: 'center-1', path: `/estate/${ESTATE_B}`, ready: '.screen-main' },
  { who: 'center-1', path: '/roster', ready: 'main.roster' },
  { who: 'center-1', path: '/patrol', ready: 'main.patrol-desk' },
  { who: 'center-1', path: '/me', ready: 'main.phone-main' },
  { who: 'admin-1', path: '/admin', ready: 'main.admin' },
  { who: 'admin-1', path: '/roster', ready: 'main.roster' },
];
const WHO = [null, 'vol-a', 'center-1', 'admin-1'] as const;
/** Tiles and rows that must not cut their text at the bottom either (checks.ts `overflowing`). */
const VERTICAL = '.estate-tile, article.tile, .alert-row';

describe('sweep: every screen, both sizes, both languages', () => {
  let world: World;
  let browser: Browser;
  let alertId = '';

  beforeAll(async () => {
    world = await startWorld([
      { name: 'vol-a', role: 'volunteer', scope: `estate:${ESTATE_A}` },
      { name: 'center-1', role: 'center', scope: `street:${STREET}` },
      { name: 'admin-1', role: 'admin', scope: `street:${STREET}` },
    ]);
    // An alert with a snapshot, so the detail, the lists and the tiles have something in them.
    expect((await world.gate.send('forced', { door: 1 })).status).toBe(200);
    const deadline = Date.now() + 20_000;
    while (!alertId && Date.now() < deadline) {
      const r = await world.hub.api('GET', `/api/v1/alerts?estate=${ESTATE_A}`, { token: API_TOKEN });
      alertId = (r.json as { items?: Array<{ id: string }> }).items?.[0]?.id ?? '';
      if (!alertId) await new Promise((res) => setTimeout(res, 250));
    }
    expect(alertId).not.toBe('');
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  /** Wait until the page has no request in flight but its live link (socket.io long-polls). */
  async function settle(page: Page, inFlight: Set<unknown>): Promise<void> {
    const until = Date.now() + 5_000;
    let quietSince = Date.now();
    while (Date.now() < until) {
      if (inFlight.size) quietSince = Date.now();
      else if (Date.now() - quietSince >= 400) return;
      await page.waitForTimeout(50);
    }
  }

  /** One person's sweep at one size: every visit of theirs in both languages. Returns what went wrong. */
  async function sweepAs(who: string | null, viewport: { width: number; height: number }): Promise<string[]> {
    const size = `${viewport.width}x${viewport.height}`;
    const context: BrowserContext = await browser.newContext({ viewport, baseURL: world.hub.httpUrl, locale: 'zh-CN', timezoneId: 'Europe/Berlin' });
    const page = await context.newPage();
    const seen = watch(page);
    const inFlight = new Set<unknown>();
    page.on('request', (r) => !r.url().includes('/socket.io/') && inFlight.add(r));
    page.on('requestfinished', (r) => inFlight.delete(r));
    page.on('requestfailed', (r) => inFlight.delete(r));
    const found: string[] = [];
    try {
      await page.goto('/login');
      if (who) await login(page, who);
      for (const lang of ['zh-CN', 'en'] as const) {
        await page.evaluate(`localStorage.setItem('rb.lang', ${JSON.stringify(lang)})`);
        for (const v of VISITS.filter((x) => x.who === who)) {
          const path = v.path.replace(ALERT, alertId);
          const at = `${who ?? 'signed out'} ${size} ${lang} ${path}`;
          seen.clear();
          await page.goto(path);
          try {
            await page.locator(v.ready).first().waitFor({ timeout: 10_000 });
          } catch {
            found.push(`${at}: never showed ${v.ready}`);
            continue;
          }
          await settle(page, inFlight);
          // The not-found page answers its own document with 404, deliberately.
          const failed = seen.failed.filter((f) => !(f.startsWith('404 GET ') && f.endsWith(path)));
          // Chromium logs the deliberate 404 of the not-found page's document as a console error too.
          const errors = v.ready === '[data-testid=not-found]' ? seen.errors.filter((e) => !/status of 404/.test(e)) : seen.errors;
          for (const e of errors) found.push(`${at}: console ${e}`);
          for (const f of failed) found.push(`${at}: request ${f}`);
          for (const o of await overflowing(page, VERTICAL)) found.push(`${at}: overflow ${o}`);
          await keepShot(page, `sweep-${who ?? 'anon'}-${size}-${lang}${path.replace(/[^a-z0-9]+/gi, '-')}`);
        }
      }
    } finally {
      await context.close();
    }
    return found;
  }

  for (const [name, viewport] of [['360x740', VIEWPORTS.phone], ['1920x1080', VIEWPORTS.screen]] as const) {
    it(`at ${name}: no console error, no failed request, no text wider than its box, in zh-CN and en`, async () => {
      const found = (await Promise.all(WHO.map((who) => sweepAs(who, viewport)))).flat();
      expect(found).toEqual([]);
    }, 90_000);
  }
});
