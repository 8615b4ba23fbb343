import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTime } from '../../lib/zoned.js';
import type { PatrolCheckpointView, PatrolRoundView } from '../../protocol/patrol.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { fitsViewport, keepShot, overflowing, setLang, watch } from './checks.js';
import { PASSWORD, VIEWPORTS, launchChromium, loggedIn } from './support.js';

/**
 * Issue 19 item 6: the desk's screen to manage patrol checkpoints and rounds (/patrol). A center user
 * adds two checkpoints and a round over them through the page; the hub's REST then lists exactly
 * that. A bad start time shows the hub's own error next to the form; each QR code loads as an image
 * and the A4 sheet answers a PDF; a scan shows in today's runs and in the history by name. A volunteer
 * gets the role-only page. No text wider than its box at 1920×1080 and 360×740, in both languages.
 */
const ESTATE = 'estate-a';
const TZ = 'Asia/Shanghai';

describe('desk: patrol checkpoints and rounds (/patrol)', () => {
  let hub: TestHub;
  let browser: Browser;
  let dir: string;
  let volunteer: { id: string; token: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rb-patrol-desk-'));
    hub = await startTestHub({ dataDir: join(dir, 'hub') });
    await hub.hub.registry.addStreet('street-1', '幸福街道');
    await hub.hub.registry.addEstate(ESTATE, { street: 'street-1', name: '枫林苑' });
    await hub.hub.registry.addEstate('estate-b', { street: 'street-1', name: '桂花园' });
    await hub.addUser({ name: 'center-1', role: 'center', scopes: ['street:street-1'], displayName: '钱主任', password: PASSWORD });
    volunteer = await hub.addUser({ name: 'vol-1', role: 'volunteer', scopes: [`estate:${ESTATE}`], displayName: '孙志愿', password: PASSWORD });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const rest = async <T>(path: string): Promise<T[]> => (await hub.api('GET', path)).json.items as T[];

  it('the center adds checkpoints and a round through the page; the hub lists exactly them', async () => {
    const { context, page } = await loggedIn(browser, hub.httpUrl, 'center-1', VIEWPORTS.screen, '/patrol');
    await page.waitForURL('**/patrol');
    const seen = watch(page);
    await page.locator('main.patrol-desk').waitFor({ timeout: 10_000 });
    // The estate picker shows names; the first estate is picked.
    expect(await page.locator('select[name=estate] option').allTextContents()).toEqual(['枫林苑', '桂花园']);
    expect(await page.locator('.screen-nav a[aria-current=page]').textContent()).toBe('巡更');

    const cpForm = page.locator('[data-testid=cp-form]');
    const cards = page.locator('[data-testid=cp-list] li.checkpoint');
    for (const [i, [name, location]] of [['北门岗亭', '北门东侧'], ['配电房', '5号楼旁']].entries()) {
      await cpForm.locator('input[name=name]').fill(name!);
      await cpForm.locator('input[name=location]').fill(location!);
      await cpForm.getByRole('button', { name: '添加' }).click();
      await expect.poll(() => cards.count(), { timeout: 10_000 }).toBe(i + 1);
    }
    const cps = await rest<Required<PatrolCheckpointView>>(`/api/v1/patrol/checkpoints?estate=${ESTATE}`);
    expect(cps.map((c) => [c.name, c.location])).toEqual([['北门岗亭', '北门东侧'], ['配电房', '5号楼旁']]);
    // Each card shows its code and its QR code (fetched with the token, a real PNG).
    for (const c of cps) expect(await page.locator(`li[data-checkpoint=${c.id}] [data-testid=cp-code]`).textContent()).toContain(c.code);
    const qr = page.locator('[data-testid=cp-qr]');
    await expect.poll(() => qr.count(), { timeout: 10_000 }).toBe(2);
    await expect.poll(() => qr.evaluateAll((imgs) => imgs.map((i) => (i as unknown as { complete: boolean; naturalWidth: number }).complete && (i as unknown as { naturalWidth: number }).naturalWidth > 0)), { timeout: 10_000 }).toEqual([true, true]);

    // 打印巡更点: the sheet is a PDF (fetched as a blob; the page offers it to open).
    context.on('page', (p) => void p.close().catch(() => {}));
    const sheet = page.waitForResponse((r) => r.url().includes('/api/v1/patrol/sheet.pdf'));
    await page.locator('[data-testid=pd-print]').click();
    const res = await sheet;
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toBe('application/pdf');
    // What the page offers to open is that PDF (the blob it fetched).
    const link = page.locator('[data-testid=pd-pdf]');
    await link.waitFor({ timeout: 10_000 });
    const pdf = await link.evaluate(async (a) => {
      const b = await (await fetch((a as unknown as { href: string }).href)).blob();
      return [b.type, new TextDecoder().decode((await b.arrayBuffer()).slice(0, 5))];
    });
    expect(pdf).toEqual(['application/pdf', '%PDF-']);

    // A round over both, in reverse order, the first due 10 minutes in; a bad start time first.
    const form = page.locator('[data-testid=round-form]');
    await form.locator('input[name=name]').fill('夜间巡更');
    await form.locator('input[name=starts]').fill('08:00, 25:00');
    await form.locator('input[name=windowMinutes]').fill('30');
    for (const name of ['配电房', '北门岗亭']) {
      await form.locator('select[name=pick]').selectOption({ label: name });
      await form.getByRole('button', { name: '加入路线' }).click();
    }
    await form.locator('input[name=due-0]').fill('10');
    await form.getByRole('button', { name: '保存路线' }).click();
    const error = form.locator('[data-testid=round-error]');
    await error.waitFor({ timeout: 10_000 });
    // The hub's words, naming the field.
    expect(await error.textContent()).toContain('starts.1: must be a local time "HH:MM"');
    expect(await form.locator('input[name=starts]').getAttribute('aria-invalid')).toBe('true');
    expect(await rest(`/api/v1/patrol/rounds?estate=${ESTATE}`)).toEqual([]);
    seen.clear(); // the 400 above was the point

    await form.locator('input[name=starts]').fill('08:00, 20:30');
    await form.getByRole('button', { name: '保存路线' }).click();
    await page.locator('[data-testid=round-list] li.round').waitFor({ timeout: 10_000 });
    expect(await error.count()).toBe(0);
    const rounds = await rest<PatrolRoundView>(`/api/v1/patrol/rounds?estate=${ESTATE}`);
    expect(rounds.map((r) => ({ name: r.name, starts: r.starts, windowMinutes: r.windowMinutes, enabled: r.enabled, points: r.points.map((p) => [p.name, p.dueMinutes]) }))).toEqual([
      { name: '夜间巡更', starts: ['08:00', '20:30'], windowMinutes: 30, enabled: true, points: [['配电房', 10], ['北门岗亭', undefined]] },
    ]);
    expect(await page.locator('[data-testid=round-list] .pd-points li').allTextContents()).toEqual(['配电房 · 开始后 10 分钟内', '北门岗亭']);
    expect(await page.locator('[data-testid=round-list] [data-testid=round-enabled]').textContent()).toBe('启用');

    // A round on now (REST), one checkpoint scanned by the volunteer: today's runs and the history show it by name.
    const l = localTime(Date.now(), TZ);
    const hm = `${String(Math.floor(l.minute / 60)).padStart(2, '0')}:${String(l.minute % 60).padStart(2, '0')}`;
    const now = await hub.api('POST', '/api/v1/patrol/rounds', { body: { estate: ESTATE, name: '白天巡更', starts: [hm], windowMinutes: 60, points: cps.map((c) => ({ checkpoint: c.id })) } });
    expect(now.status).toBe(201);
    const scan = await hub.api('POST', '/api/v1/patrol/scan', { token: volunteer.token, body: { code: cps[0]!.code } });
    expect(scan.json.matched).toBe(true);
    await page.reload();
    const point = page.locator(`[data-testid=pd-runs] li.pd-run li[data-checkpoint=${cps[0]!.id}]`).first();
    await point.waitFor({ timeout: 10_000 });
    expect(await point.getAttribute('data-state')).toBe('scanned');
    expect(await point.textContent()).toContain('孙志愿');
    await expect.poll(() => page.locator('[data-testid=pd-people] li[data-person]').evaluateAll((els) => els.map((e) => e.getAttribute('data-person'))), { timeout: 10_000 }).toEqual(['孙志愿']);

    // 换新码, confirmed: the card shows the new code and the old sticker stops working.
    const cpCard = (id: string) => page.locator(`[data-testid=cp-list] li[data-checkpoint=${id}]`);
    const codeOf = async (id: string) => (await rest<Required<PatrolCheckpointView>>(`/api/v1/patrol/checkpoints?estate=${ESTATE}`)).find((c) => c.id === id)?.code;
    const first = cpCard(cps[0]!.id);
    await first.getByRole('button', { name: '换新码' }).click();
    expect(await first.locator('.warn-text').textContent()).toContain('旧二维码将失效');
    await first.getByRole('button', { name: '确认换码' }).click();
    await expect.poll(() => codeOf(cps[0]!.id), { timeout: 10_000 }).not.toBe(cps[0]!.code);
    const code = (await codeOf(cps[0]!.id))!;
    await expect.poll(() => first.locator('[data-testid=cp-code]').textContent(), { timeout: 10_000 }).toContain(code);
    await expect.poll(() => first.locator('[data-testid=cp-qr]').evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth), { timeout: 10_000 }).toBeGreaterThan(0);
    expect((await hub.api('POST', '/api/v1/patrol/scan', { token: volunteer.token, body: { code: cps[0]!.code } })).status).toBe(404);

    // Rename; then a delete while a round uses it shows the hub's refusal and keeps it.
    const second = cpCard(cps[1]!.id);
    await second.getByRole('button', { name: '编辑' }).click();
    await second.locator('input[name=name]').fill('配电房（5号楼）');
    await second.getByRole('button', { name: '保存' }).click();
    await expect.poll(async () => (await rest<PatrolCheckpointView>(`/api/v1/patrol/checkpoints?estate=${ESTATE}`)).map((c) => c.name), { timeout: 10_000 }).toEqual(['北门岗亭', '配电房（5号楼）']);
    await second.getByRole('button', { name: '删除' }).click();
    await second.getByRole('button', { name: '确认删除' }).click();
    await expect.poll(() => page.locator('[data-testid=cp-note]').textContent(), { timeout: 10_000 }).toContain('409');
    expect(await cards.count()).toBe(2);
    seen.clear(); // the 404 and the 409 were the point

    // A round deleted (confirmed); the other one opened for editing, its points in the form.
    const day = page.locator('[data-testid=round-list] li.round[data-name=白天巡更]');
    await day.getByRole('button', { name: '删除' }).click();
    await day.getByRole('button', { name: '确认删除' }).click();
    await expect.poll(async () => (await rest<PatrolRoundView>(`/api/v1/patrol/rounds?estate=${ESTATE}`)).map((r) => r.name), { timeout: 10_000 }).toEqual(['夜间巡更']);
    await expect.poll(() => page.locator('[data-testid=round-list] li.round').count(), { timeout: 10_000 }).toBe(1);
    await page.locator('[data-testid=round-list] li.round').getByRole('button', { name: '编辑' }).click();
    expect(await form.locator('[data-testid=round-points] .pd-point-name').allTextContents()).toEqual(['配电房（5号楼）', '北门岗亭']);
    expect(await form.locator('input[name=starts]').inputValue()).toBe('08:00, 20:30');

    // Both sizes, both languages: nothing wider than its box, no sideways scrolling.
    for (const viewport of [VIEWPORTS.screen, VIEWPORTS.phone]) {
      await page.setViewportSize(viewport);
      // The person's scans open, so their lines are measured too.
      await page.locator('[data-testid=pd-people] details').first().evaluate((d) => void ((d as unknown as { open: boolean }).open = true));
      for (const lang of ['en', 'zh-CN'] as const) {
        await setLang(page, lang);
        expect(await overflowing(page), `${viewport.width} ${lang}`).toEqual([]);
        expect((await fitsViewport(page)).size.w, `${viewport.width} ${lang}`).toBeLessThanOrEqual(viewport.width);
        await keepShot(page, `patrol-desk-${viewport.width}-${lang}`);
      }
    }
    expect(seen.errors).toEqual([]);
    expect(seen.failed).toEqual([]);
    await context.close();
  }, 60_000);

  it('a volunteer opening /patrol gets the role-only page', async () => {
    const { context, page } = await loggedIn(browser, hub.httpUrl, 'vol-1', VIEWPORTS.phone, '/patrol');
    await page.locator('[data-testid=role-only]').waitFor({ timeout: 10_000 });
    expect(await page.locator('main.patrol-desk').count()).toBe(0);
    expect(await page.locator('h1').first().textContent()).toBe('巡更管理');
    await context.close();
  }, 30_000);
});
