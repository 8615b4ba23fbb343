import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESTATE_A, ESTATE_B, GRID, onDuty, phone, startPhoneWorld, type PhoneWorld } from './phone-support.js';
import { launchChromium, waitLive } from './support.js';

/**
 * The volunteer's phone in real Chromium against a real hub, two gateways and simulated gates
 * (issue 15): an alarm is signed off by a person and says its condition cleared; the detail shows the
 * timeline, the snapshot (zoomable), linked events, and acts; the history keeps the resolution note;
 * a patrol sees which estate each alert is in and can filter by estate.
 */
describe('phone: alarms signed off by a person, alert detail, history, scope', () => {
  let world: PhoneWorld;
  let browser: Browser;

  beforeAll(async () => {
    world = await startPhoneWorld([
      { name: 'vol-a', displayName: '王小明', role: 'volunteer', scopes: [`estate:${ESTATE_A}`] },
      { name: 'patrol-1', displayName: '赵巡查', role: 'patrol', scopes: [`grid:${GRID}`] },
    ]);
    await onDuty(world, 'vol-a', ESTATE_A);
    // A short hold-off: were door.forced still resolving itself when the door closes, it would within 1 s.
    for (const estate of [ESTATE_A, ESTATE_B]) {
      const r = await world.hub.api('PUT', `/api/v1/estates/${estate}/alert-settings`, { body: { clearAfterS: 1 } });
      expect(r.status).toBe(200);
    }
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  it('a forced door whose door then closes stays open ("门已关闭 …"); the volunteer resolves it with a note from the detail; the history shows it with the note', async () => {
    const { context, page, issues } = await phone(browser, world.hub.httpUrl, 'vol-a');
    await waitLive(page);

    expect((await world.a.gate.send('forced', { door: 1 })).status).toBe(200);
    const card = page.locator('li.card[data-alert-id]').filter({ hasText: '门被强行打开' }).first();
    await card.waitFor({ timeout: 20_000 });
    const id = (await card.getAttribute('data-alert-id'))!;
    // Names, not ids: the gate's configured name.
    expect(await card.locator('.alert-meta').first().textContent()).toContain('北门');
    expect(await card.textContent()).not.toContain('gate-north');

    expect((await world.a.gate.send('door-close', { door: 1 })).status).toBe(200);
    await expect.poll(() => card.locator('[data-testid=cleared]').textContent().catch(() => ''), { timeout: 15_000 }).toMatch(/^门已关闭 \d\d:\d\d/);
    // Well past the (1 s) hold-off: still open, waiting for a person.
    await page.waitForTimeout(3_000);
    expect(await card.getAttribute('data-state')).toBe('open');
    const api = await world.hub.api('GET', `/api/v1/alerts/${id}`);
    expect(api.json.state).toBe('open');
    expect(typeof api.json.conditionClearedAt).toBe('number');

    // The detail: facts with names, the clearing, the timeline, linked events, the snapshot with zoom.
    await card.locator('[data-testid=details]').click();
    await page.waitForURL(`**/me?alert=${id}`);
    const detail = page.locator(`article.alert-detail[data-alert-id="${id}"]`);
    await detail.waitFor();
    await expect.poll(() => detail.locator('.ad-facts').textContent(), { timeout: 10_000 }).toContain('枫林苑 · 北门 · 1号门');
    expect(await detail.locator('.ad-facts [data-testid=cleared]').textContent()).toMatch(/^门已关闭 \d\d:\d\d/);
    const timeline = detail.locator('[data-testid=timeline]');
    await expect.poll(() => timeline.textContent(), { timeout: 10_000 }).toContain('告警产生');
    await expect.poll(() => timeline.textContent(), { timeout: 10_000 }).toContain('情况已解除');
    await expect.poll(() => detail.locator('.ad-linked').textContent(), { timeout: 10_000 }).toContain('北门 门被强行打开 1号门');

    const open = detail.locator('[data-testid=snapshot-open]');
    await open.locator('img.snapshot[data-sha]').waitFor({ timeout: 30_000 });
    await open.click();
    const box = page.locator('[data-testid=lightbox]');
    await box.locator('img').waitFor();
    await box.getByRole('button', { name: '放大' }).click();
    await box.getByRole('button', { name: '放大' }).click();
    expect(await box.locator('img').getAttribute('data-zoom')).toBe('2.25');
    // The picture is shown larger than the card's thumbnail, and zoomed.
    const shown = await box.locator('img').boundingBox();
    expect(shown!.width).toBeGreaterThan(300);
    await box.getByRole('button', { name: '关闭' }).click();
    await box.waitFor({ state: 'detached' });

    // Assign to me, comment; both land in the timeline.
    await detail.getByRole('button', { name: '指派给我' }).click();
    await expect.poll(() => detail.locator('[data-testid=assignee]').textContent(), { timeout: 10_000 }).toBe('负责人：我');
    await detail.locator('form.comment textarea').fill('已到现场，门锁完好');
    await detail.getByRole('button', { name: '添加备注' }).click();
    await expect.poll(() => timeline.textContent(), { timeout: 10_000 }).toContain('已到现场，门锁完好');
    await expect.poll(() => timeline.textContent(), { timeout: 10_000 }).toContain('指派给');

    // Resolve: a note is required (the same confirmation as the card).
    await detail.getByRole('button', { name: '解决', exact: true }).click();
    await detail.getByRole('button', { name: '提交并解决' }).click();
    await expect.poll(() => detail.locator('.error').textContent()).toBe('请填写处理说明');
    await detail.locator('.resolve textarea').fill('门已关好，现场无异常');
    await detail.getByRole('button', { name: '提交并解决' }).click();
    await expect.poll(() => detail.getAttribute('data-state'), { timeout: 10_000 }).toBe('resolved');
    await expect.poll(() => detail.locator('.resolution').textContent(), { timeout: 10_000 }).toBe('处理说明：门已关好，现场无异常');
    await expect.poll(() => timeline.textContent(), { timeout: 10_000 }).toContain('我 解决');

    // History: the resolved alert under today, by type, with the note.
    await page.locator('.phone-tabs [data-tab=history]').click();
    await page.waitForURL('**/me?tab=history');
    const item = page.locator(`.history li[data-alert-id="${id}"]`);
    await item.waitFor({ timeout: 10_000 });
    expect(await item.textContent()).toContain('处理说明：门已关好，现场无异常');
    expect(await item.textContent()).toContain('北门');
    expect(await page.locator('.history-day').first().locator('.day-counts').textContent()).toMatch(/门被强行打开 \d+ 次/);
    // And it is gone from the open list.
    await page.locator('.phone-tabs [data-tab=alerts]').click();
    await page.locator(`li.card[data-alert-id="${id}"]`).waitFor({ state: 'detached', timeout: 10_000 });

    expect(issues.problems()).toEqual([]);
    await context.close();
  }, 120_000);

  it('a patrol covering two estates sees the estate on every card, most urgent and oldest first; the selector filters', async () => {
    const { context, page, issues } = await phone(browser, world.hub.httpUrl, 'patrol-1');
    await waitLive(page);
    expect((await world.a.gate.send('forced', { door: 1 })).status).toBe(200);
    await page.locator(`li.card[data-estate="${ESTATE_A}"]`).first().waitFor({ timeout: 20_000 });
    expect((await world.b.gate.send('forced', { door: 1 })).status).toBe(200);
    await page.locator(`li.card[data-estate="${ESTATE_B}"]`).first().waitFor({ timeout: 20_000 });

    const cards = page.locator('li.card[data-alert-id]');
    const estates = await cards.evaluateAll((els) => els.map((e) => [e.getAttribute('data-estate'), e.querySelector('[data-testid=card-estate]')?.textContent ?? null]));
    expect(estates.length).toBeGreaterThanOrEqual(2);
    for (const [estate, label] of estates) expect(label).toBe(estate === ESTATE_A ? '枫林苑' : '桂花园');
    // Same severity: the older one (estate-a's) first.
    expect(estates[0]![0]).toBe(ESTATE_A);
    // No camera is linked to 南门: its card and detail say nothing about a missing snapshot.
    expect(await page.locator('main').textContent()).not.toContain('暂无抓拍');

    const picker = page.locator('[data-testid=estate-picker]');
    await picker.selectOption(ESTATE_B);
    await expect.poll(() => cards.evaluateAll((els) => [...new Set(els.map((e) => e.getAttribute('data-estate')))]), { timeout: 5_000 }).toEqual([ESTATE_B]);
    // With one estate picked, its doors can be opened, named.
    await page.locator('button[data-device="gate-south"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('button[data-device="gate-south"]').textContent()).toBe('开门 · 南门');
    await picker.selectOption(ESTATE_A);
    await expect.poll(() => cards.evaluateAll((els) => [...new Set(els.map((e) => e.getAttribute('data-estate')))]), { timeout: 5_000 }).toEqual([ESTATE_A]);
    await picker.selectOption('');
    await expect.poll(() => cards.evaluateAll((els) => new Set(els.map((e) => e.getAttribute('data-estate'))).size), { timeout: 5_000 }).toBe(2);

    // Assigned from elsewhere (the center's screen, here over REST): the card says so, live.
    const first = cards.first();
    const firstId = (await first.getAttribute('data-alert-id'))!;
    const assigned = await world.hub.api('POST', `/api/v1/alerts/${firstId}/assign`, { body: { user: world.users.get('patrol-1') } });
    expect(assigned.status).toBe(200);
    await expect.poll(() => page.locator(`li.card[data-alert-id="${firstId}"] [data-testid=card-assignee]`).textContent().catch(() => ''), { timeout: 10_000 }).toBe('负责人：我');

    expect(issues.problems()).toEqual([]);
    await context.close();
  }, 90_000);
});
