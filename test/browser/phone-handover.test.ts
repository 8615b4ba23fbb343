import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESTATE_A, phone, startShiftWorld, type PhoneWorld } from './phone-support.js';
import { waitLive } from './support.js';

/**
 * Hand-over as an action (issue 15): volunteer A hands over with a note; volunteer B, on duty next,
 * sees the note (pushed while the page is open, and on load) and an open-alert list that stays live
 * during the shift (it used to say "no open alerts" beside three open ones).
 */
describe('phone: hand-over', () => {
  let world: PhoneWorld;
  let browser: Browser;

  beforeAll(async () => {
    ({ world, browser } = await startShiftWorld());
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  it('A hands over with a note; B (next on duty) sees it live and on load, and a live list of open alerts', async () => {
    const b = await phone(browser, world.hub.httpUrl, 'vol-b');
    await waitLive(b.page);
    await b.page.locator('.phone-tabs [data-tab=handover]').click();
    await b.page.waitForURL('**/me?tab=handover');
    await expect.poll(() => b.page.locator('[data-testid=handover-note]').textContent(), { timeout: 10_000 }).toContain('尚无交班留言');
    const list = b.page.locator('.handover');
    await expect.poll(() => list.textContent(), { timeout: 10_000 }).toContain('暂无待处理告警');

    const a = await phone(browser, world.hub.httpUrl, 'vol-a');
    await waitLive(a.page);
    await a.page.locator('.phone-tabs [data-tab=handover]').click();
    await a.page.locator('.handover').getByText('李红').waitFor({ timeout: 10_000 }); // next on duty, by name
    await a.page.locator('[data-testid=handover-start]').click();
    // A note is required.
    await a.page.getByRole('button', { name: '确认交班' }).click();
    await expect.poll(() => a.page.locator('.handover .error').textContent()).toBe('请填写交班留言');
    await a.page.locator('[data-testid=handover-text]').fill('北门门禁偶尔卡顿，已报修；3 栋楼道灯坏了');
    await a.page.getByRole('button', { name: '确认交班' }).click();
    await expect.poll(() => a.page.locator('[data-testid=handover-done]').textContent().catch(() => ''), { timeout: 10_000 }).toMatch(/^已交班/);

    // B sees it at once (push), with who handed over.
    const note = b.page.locator('[data-testid=handover-note]');
    await expect.poll(() => note.textContent(), { timeout: 10_000 }).toContain('北门门禁偶尔卡顿，已报修；3 栋楼道灯坏了');
    expect(await note.textContent()).toContain('王');

    // The list is live: an alert raised during the shift appears without a reload, and leaves when resolved.
    expect((await world.a.gate.send('forced', { door: 1 })).status).toBe(200);
    const row = list.locator('li[data-alert-id]');
    await row.first().waitFor({ timeout: 20_000 });
    expect(await row.first().textContent()).toContain('门被强行打开 · 北门');
    const id = (await row.first().getAttribute('data-alert-id'))!;
    const resolved = await world.hub.api('POST', `/api/v1/alerts/${id}/resolve`, { body: { note: '测试：已处理' } });
    expect(resolved.status).toBe(200);
    await list.locator(`li[data-alert-id="${id}"]`).waitFor({ state: 'detached', timeout: 10_000 });

    // On load, too: a fresh page of B's shows the note (lastHandover), and the alert tab points to it.
    await b.page.reload();
    await expect.poll(() => b.page.locator('[data-testid=handover-note]').textContent(), { timeout: 10_000 }).toContain('北门门禁偶尔卡顿');

    expect(a.issues.problems()).toEqual([]);
    expect(b.issues.problems()).toEqual([]);
    await a.context.close();
    await b.context.close();
  }, 120_000);

  it('a note handed over while B looks at the alerts tab is announced there', async () => {
    const b = await phone(browser, world.hub.httpUrl, 'vol-b');
    await waitLive(b.page);
    await b.page.locator('#h-mine').waitFor();
    const r = await world.hub.api('POST', '/api/v1/roster/handover', { token: await token(world, 'vol-a'), body: { estate: ESTATE_A, note: '第二次交班：访客车位已满' } });
    expect(r.status).toBe(201);
    const notice = b.page.locator('.notice');
    await expect.poll(() => notice.textContent().catch(() => ''), { timeout: 10_000 }).toContain('留下了交班留言');
    await notice.getByRole('button', { name: '查看' }).click();
    await expect.poll(() => b.page.locator('[data-testid=handover-note]').textContent(), { timeout: 10_000 }).toContain('第二次交班：访客车位已满');
    expect(b.issues.problems()).toEqual([]);
    await b.context.close();
  }, 60_000);
});

async function token(world: PhoneWorld, name: string): Promise<string> {
  const r = await world.hub.api('POST', '/api/v1/auth/login', { token: null, body: { name, password: 'browser-test-pass-1' } });
  return r.json.token as string;
}
