import type { Browser, Page } from 'playwright-core';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitsViewport, keepShot, overflowing, setLang, watch, type PageWatch } from './checks.js';
import { API_TOKEN, ESTATE_A, PASSWORD, STREET, VIEWPORTS, launchChromium, loggedIn, login, startWorld, waitLive, type World } from './support.js';

/**
 * Issue 15, item 3: the command center acts. The center acknowledges, assigns, comments and resolves an
 * alert from the 1920×1080 screen (the same confirmations as the phone: resolving needs a note), the
 * volunteer's socket sees the assignment live, a door tile shows its open alarm, and an overflowing
 * list pages with "+N more". No console error, no failed request, no text wider than its box. An
 * assignment pushed while the phone's REST reload is on its way is not undone by that older answer.
 */
/** Boxes of the fixed 1920×1080 layout that must not cut their content at the bottom either. */
const VERTICAL = '.tiles, article.tile, .alert-list, .side .panel, .alert-row';

describe('screens: the command center acts', () => {
  let world: World;
  let browser: Browser;
  let page: Page;
  let seen: PageWatch;
  let volId = '';
  let volSocket: Socket | undefined;
  const updates: Array<{ id: string; state: string; assignee?: string }> = [];

  beforeAll(async () => {
    world = await startWorld([
      { name: 'vol-a', role: 'volunteer', scope: `estate:${ESTATE_A}` },
      { name: 'center-1', role: 'center', scope: `street:${STREET}` },
    ]);
    const users = (await (await fetch(`${world.hub.httpUrl}/api/v1/users`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).json()) as { items: Array<{ id: string; name: string }> };
    volId = users.items.find((u) => u.name === 'vol-a')!.id;
    // The volunteer's phone, as a socket: logs in and listens to its estate.
    const login = (await (await fetch(`${world.hub.httpUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'vol-a', password: PASSWORD }) })).json()) as { token: string };
    volSocket = ioClient(world.hub.httpUrl, { auth: { token: login.token }, transports: ['websocket'], reconnection: false });
    volSocket.on('alert:update', (env: { data: { id: string; state: string; assignee?: string } }) => updates.push(env.data));
    await new Promise<void>((resolve, reject) => {
      volSocket!.once('connect', () => resolve());
      volSocket!.once('connect_error', reject);
    });
    browser = await launchChromium();
    const opened = await loggedIn(browser, world.hub.httpUrl, 'center-1', VIEWPORTS.screen, `/estate/${ESTATE_A}`);
    page = opened.page;
    await page.waitForURL(`**/estate/${ESTATE_A}`);
    seen = watch(page);
    await waitLive(page);
  }, 120_000);

  afterAll(async () => {
    volSocket?.close();
    await browser?.close();
    await world?.stop();
  });

  it('acknowledges, assigns, comments and resolves from the big screen; the volunteer sees the assignment live', async () => {
    expect((await world.gate.send('forced', { door: 1 })).status).toBe(200);
    const row = page.locator('li.alert-row[data-state]').filter({ hasText: '门被强行打开' }).first();
    await row.waitFor({ timeout: 20_000 });
    const id = (await row.getAttribute('data-alert-id'))!;
    // The door tile shows the alarm, not just the door's state, and keeps it after the door closes.
    const alarm = page.locator(`article.tile[data-device="gate-east"] .tile-alarm[data-alert-id="${id}"]`);
    await alarm.waitFor({ timeout: 10_000 });
    expect(await alarm.textContent()).toContain('门被强行打开');
    expect(await page.locator('article.tile[data-device="gate-east"]').getAttribute('class')).toMatch(/lvl-alarm/);
    expect((await world.gate.send('door-close', { door: 1 })).status).toBe(200);
    await page.locator('article.tile[data-device="gate-east"] .cond.door-closed').waitFor({ timeout: 10_000 });
    expect(await alarm.count()).toBe(1);

    // Open the alert's panel with a click (touch works the same): the shared alert detail, large.
    await row.click();
    const panel = page.locator(`[data-testid=alert-panel][data-alert-id="${id}"]`);
    const detail = panel.locator('article.alert-detail');
    await detail.waitFor();
    await panel.getByRole('button', { name: '确认', exact: true }).click();
    await expect.poll(() => detail.getAttribute('data-state'), { timeout: 10_000 }).toBe('acknowledged');
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('acknowledged');

    // The volunteer's phone (a real page at 360×740), open on the alert list before the assignment.
    const phone = await loggedIn(browser, world.hub.httpUrl, 'vol-a', VIEWPORTS.phone, '/me');
    const card = phone.page.locator(`[data-alert-id="${id}"]`).first();
    await card.waitFor({ timeout: 15_000 });
    expect(await card.locator('[data-testid=card-assignee]').count()).toBe(0);

    // Assign to the volunteer: its phone's socket gets the update live, and the card on the phone shows it.
    await panel.locator('[data-testid=assign] select').selectOption(volId);
    // The phone names its own user "我" (me).
    await expect.poll(() => card.locator('[data-testid=card-assignee]').textContent(), { timeout: 10_000 }).toBe('负责人：我');
    await phone.context.close();
    await expect.poll(() => updates.some((u) => u.id === id && u.assignee === `user:${volId}`), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('指派给 vol-a');
    await expect.poll(() => panel.locator('[data-testid=assignee]').textContent(), { timeout: 10_000 }).toContain('vol-a');

    // A comment shows in the timeline.
    await panel.locator('form.comment textarea').fill('已通知保安到北门查看');
    await panel.getByRole('button', { name: '添加备注' }).click();
    await expect.poll(() => panel.locator('[data-testid=timeline]').textContent(), { timeout: 10_000 }).toContain('已通知保安到北门查看');
    await keepShot(page, 'command-center-panel');

    // Resolving needs a note, as on the phone.
    await panel.getByRole('button', { name: '解决', exact: true }).click();
    await panel.getByRole('button', { name: '提交并解决' }).click();
    await expect.poll(() => panel.locator('.alert-actions .error').textContent(), { timeout: 5_000 }).toBe('请填写处理说明');
    await panel.locator('.resolve textarea').fill('门已检查，锁具正常');
    await panel.getByRole('button', { name: '提交并解决' }).click();
    await expect.poll(() => detail.getAttribute('data-state'), { timeout: 10_000 }).toBe('resolved');
    await expect.poll(() => updates.some((u) => u.id === id && u.state === 'resolved'), { timeout: 10_000 }).toBe(true);
    await page.locator(`.alert-list.resolved li.alert-row[data-alert-id="${id}"]`).waitFor({ timeout: 10_000 });
    await expect.poll(() => alarm.count(), { timeout: 10_000 }).toBe(0);
    await page.locator('[data-testid=panel-close]').click();
    await panel.waitFor({ state: 'detached' });
    expect(seen.errors).toEqual([]);
    expect(seen.failed).toEqual([]);
  }, 120_000);

  it('an overflowing alert list says "+N more" and pages; the screen still fits', async () => {
    for (let door = 2; door <= 13; door++) expect((await world.gate.send('forced', { door })).status).toBe(200);
    await expect.poll(() => page.locator('#h-alerts .count').textContent(), { timeout: 20_000 }).toBe('12');
    const pager = page.locator('[data-testid=pager]');
    await pager.waitFor({ timeout: 10_000 });
    // The page holds what fits (measured after layout); the rest is counted, not cut off.
    const rows = page.locator('.alert-list.paged > li');
    await expect.poll(async () => `${await pager.locator('.more').textContent()}/${12 - (await rows.count())}`, { timeout: 5_000 }).toMatch(/^还有 (\d+) 条\/\1$/);
    expect(await rows.count()).toBeGreaterThan(1);
    const first = await page.locator('.alert-list.paged > li').first().getAttribute('data-alert-id');
    await page.locator('[data-testid=pager-next]').click();
    await expect.poll(() => page.locator('.alert-list.paged > li').first().getAttribute('data-alert-id')).not.toBe(first);
    expect((await fitsViewport(page)).fits).toBe(true);
    await keepShot(page, 'command-center-paged');
    expect(seen.errors).toEqual([]);
    expect(seen.failed).toEqual([]);
  }, 120_000);

  it('fits 1920x1080 with no text wider than its box, in Chinese and in English', async () => {
    for (const lang of ['zh-CN', 'en'] as const) {
      await setLang(page, lang);
      await page.locator('li.alert-row').first().click();
      await page.locator('[data-testid=alert-panel]').waitFor();
      await page.waitForTimeout(500);
      expect(await overflowing(page, VERTICAL), lang).toEqual([]);
      expect((await fitsViewport(page)).fits, lang).toBe(true);
      await keepShot(page, `command-center-${lang}`);
      await page.keyboard.press('Escape');
    }
    await setLang(page, 'zh-CN');
    expect(seen.errors).toEqual([]);
    expect(seen.failed).toEqual([]);
  }, 60_000);

  it('an assignment pushed while the phone\'s REST reload is on its way survives the older answer', async () => {
    const hubApi = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${world.hub.httpUrl}${path}`, { method, headers: { authorization: `Bearer ${API_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return (await res.json()) as { items?: Array<{ id: string }> };
    };
    const openIds = async () => {
      const ids = new Set<string>();
      for (const state of ['open', 'escalated', 'acknowledged']) for (const a of (await hubApi('GET', `/api/v1/alerts?estate=${ESTATE_A}&state=${state}&limit=100`)).items ?? []) ids.add(a.id);
      return ids;
    };
    const before = await openIds();
    expect((await world.gate.send('forced', { door: 14 })).status).toBe(200);
    let id = '';
    await expect.poll(async () => (id = [...(await openIds())].find((x) => !before.has(x)) ?? ''), { timeout: 20_000 }).not.toBe('');
    const unresolved = (await openIds()).size;

    // The phone's alert-list reads (first load, first-connect sync) are answered by the hub at once
    // but delivered only when the test says: the answers are as of before the assignment.
    const context = await browser.newContext({ viewport: VIEWPORTS.phone, baseURL: world.hub.httpUrl, locale: 'zh-CN', timezoneId: 'Europe/Berlin' });
    let assigned = false;
    const fetchedAfter: string[] = [];
    let held = 0;
    let delivered = 0;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await context.route(/\/api\/v1\/alerts\?/, async (route) => {
      held += 1;
      const response = await route.fetch();
      if (assigned) fetchedAfter.push(route.request().url());
      await released;
      await route.fulfill({ response });
      delivered += 1;
    });
    try {
      const phone = await context.newPage();
      await phone.goto('/me');
      await login(phone, 'vol-a');
      await waitLive(phone);
      // Every read the page makes now is out (3 states per load); the count holds still.
      await expect.poll(() => held, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
      await phone.waitForTimeout(500);
      expect(held % 3).toBe(0);
      await phone.locator('.banner-sync').waitFor({ timeout: 5_000 });

      // Assigned to the volunteer while the reads are out: the push reaches the phone first.
      assigned = true;
      await hubApi('POST', `/api/v1/alerts/${id}/assign`, { user: volId });
      const card = phone.locator(`[data-alert-id="${id}"]`).first();
      await expect.poll(() => card.locator('[data-testid=card-assignee]').textContent(), { timeout: 10_000 }).toBe('负责人：我');

      // The older answers arrive: the whole list shows, and the assignment is still on the card.
      release();
      await expect.poll(() => delivered, { timeout: 10_000 }).toBe(held);
      await phone.locator('.banner-sync').waitFor({ state: 'detached', timeout: 10_000 });
      await expect.poll(() => phone.locator('.phone-tabs [data-tab=alerts] .count').textContent(), { timeout: 10_000 }).toBe(String(unresolved));
      expect(await card.locator('[data-testid=card-assignee]').allTextContents()).toEqual(['负责人：我']);
      // The test's premise: no read was answered after the assignment.
      expect(fetchedAfter).toEqual([]);
    } finally {
      release();
      await context.close();
    }
  }, 60_000);
});
