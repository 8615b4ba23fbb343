import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTime } from '../../lib/zoned.js';
import type { PatrolCheckpointView } from '../../protocol/patrol.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { overflowing, phone } from './phone-support.js';
import { PASSWORD, waitLive } from './support.js';

/**
 * Must show (issue 19): "A patrol scans 3 of 4 checkpoints: the fourth raises an alert at its
 * deadline." Real Chromium at 360×740 on a real hub. The first checkpoint is scanned with the phone's
 * camera: Chromium's fake camera plays a Y4M video of that checkpoint's QR code as the hub printed it
 * (GET …/qr.png), and the page decodes its frames (jsQR) — a real QR code end to end. The next two are
 * typed (the fallback). The patrol clock is then moved past the fourth's deadline (the hub's patrol
 * clock is injected; the browser's is not touched): the alert reaches the phone live.
 */
const ESTATE = 'estate-a';
const TZ = 'Asia/Shanghai';

/**
 * A PNG as a Y4M video (what --use-file-for-fake-video-capture plays): `frames` frames of 4:2:0,
 * the image centred on white, luma from its grey levels, chroma neutral. Written here with sharp, so
 * no ffmpeg is needed.
 */
async function y4mOf(png: Buffer, width: number, height: number, frames: number): Promise<Buffer> {
  const side = Math.min(width, height) - 40;
  const qr = await sharp(png).resize(side, side, { kernel: 'nearest' }).toBuffer();
  const luma = await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite([{ input: qr, gravity: 'centre' }])
    .grayscale()
    .raw()
    .toBuffer();
  const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`)];
  for (let i = 0; i < frames; i++) parts.push(Buffer.from('FRAME\n'), luma.subarray(0, width * height), chroma);
  return Buffer.concat(parts);
}

describe('phone: patrol round (巡更)', () => {
  let hub: TestHub;
  let browser: Browser;
  let dir: string;
  let offset = 0;
  const cps: Array<Required<PatrolCheckpointView>> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rb-patrol-'));
    hub = await startTestHub({ dataDir: join(dir, 'hub'), patrol: { now: () => Date.now() + offset } });
    await hub.hub.registry.addStreet('street-1', '幸福街道');
    await hub.hub.registry.addEstate(ESTATE, { street: 'street-1', name: '枫林苑' });
    await hub.addUser({ name: 'pat-1', role: 'patrol', scopes: [`estate:${ESTATE}`], displayName: '赵巡逻', password: PASSWORD });
    for (const [name, location] of [['北门岗亭', '北门东侧'], ['3号楼车库', '地下一层'], ['东侧围墙', '东墙中段'], ['配电房', '5号楼旁']]) {
      const r = await hub.api('POST', '/api/v1/patrol/checkpoints', { body: { estate: ESTATE, name, location } });
      expect(r.status).toBe(201);
      cps.push(r.json as unknown as Required<PatrolCheckpointView>);
    }
    // A round that starts this minute (hub time zone), each checkpoint due 10, 15, 20, 25 minutes in.
    const l = localTime(Date.now(), TZ);
    const hm = `${String(Math.floor(l.minute / 60)).padStart(2, '0')}:${String(l.minute % 60).padStart(2, '0')}`;
    const round = await hub.api('POST', '/api/v1/patrol/rounds', { body: { estate: ESTATE, name: '夜间巡更', starts: [hm], windowMinutes: 30, points: cps.map((c, i) => ({ checkpoint: c.id, dueMinutes: 10 + 5 * i })) } });
    expect(round.status).toBe(201);

    // The sticker of the first checkpoint, as the hub prints it, in front of the fake camera.
    const png = await fetch(`${hub.httpUrl}/api/v1/patrol/checkpoints/${cps[0]!.id}/qr.png`, { headers: { authorization: `Bearer ${hub.apiToken}` } });
    expect(png.status).toBe(200);
    const video = join(dir, 'qr.y4m');
    writeFileSync(video, await y4mOf(Buffer.from(await png.arrayBuffer()), 640, 480, 10));
    browser = await chromium.launch({
      executablePath: process.env.RB_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync',
        '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`,
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a patrol scans 3 of 4 checkpoints (camera, then typed); the fourth raises an alert at its deadline', async () => {
    const { page, context, issues } = await phone(browser, hub.httpUrl, 'pat-1');
    await context.grantPermissions(['camera']);
    await waitLive(page);
    await page.locator('.phone-tabs [data-tab=patrol]').click();
    await page.waitForURL('**/me?tab=patrol');
    const next = page.locator('[data-testid=patrol-next]');
    await expect.poll(() => next.textContent(), { timeout: 10_000 }).toContain('北门岗亭');

    // 1: the camera reads the printed QR code.
    await page.locator('[data-testid=patrol-scan]').click();
    const result = page.locator('[data-testid=patrol-result]');
    await expect.poll(() => result.textContent().catch(() => ''), { timeout: 15_000 }).toContain('已打卡：北门岗亭');
    expect(await result.getAttribute('data-checkpoint')).toBe(cps[0]!.id);
    // The camera is off again once a code read.
    expect(await page.locator('.scanner').isHidden()).toBe(true);
    await expect.poll(() => next.textContent(), { timeout: 10_000 }).toContain('3号楼车库');

    // 2 and 3: typed, as a patrol does when the camera cannot (lower case, a dash: still the code).
    for (const [i, cp] of cps.slice(1, 3).entries()) {
      const typed = i === 0 ? `${cp.code.slice(0, 6).toLowerCase()}-${cp.code.slice(6)}` : cp.code;
      await page.locator('[data-testid=patrol-code]').fill(typed);
      await page.getByRole('button', { name: '提交' }).click();
      await expect.poll(() => result.getAttribute('data-checkpoint'), { timeout: 10_000 }).toBe(cp.id);
      expect(await result.textContent()).toContain(`已打卡：${cp.name}`);
    }
    await expect.poll(() => next.textContent(), { timeout: 10_000 }).toContain('配电房');
    const points = page.locator('.patrol-run .point');
    expect(await points.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')))).toEqual(['scanned', 'scanned', 'scanned', 'pending']);
    // A bad code is refused with words, not sent.
    await page.locator('[data-testid=patrol-code]').fill('12345');
    await page.getByRole('button', { name: '提交' }).click();
    await expect.poll(() => page.locator('[data-testid=patrol-error]').textContent()).toBe('巡更点编码是 12 位字母或数字');
    expect(await overflowing(page)).toEqual([]);

    // The fourth's deadline passes (the hub's patrol clock moves 26 minutes): one alert, live.
    offset = 26 * 60_000;
    await hub.hub.patrol.tick();
    await expect.poll(() => points.nth(3).getAttribute('data-state'), { timeout: 15_000 }).toBe('missed');
    expect(await points.nth(3).textContent()).toContain('漏巡');
    // Still within its window: the round is on, with a checkpoint missed.
    expect(await page.locator('.patrol-run [data-testid=run-state]').textContent()).toBe('进行中');
    await page.locator('.phone-tabs [data-tab=alerts]').click();
    const card = page.locator('.cards li[data-alert-id]');
    await card.first().waitFor({ timeout: 10_000 });
    expect(await card.count()).toBe(1);
    const text = await card.first().textContent();
    expect(text).toContain('巡更漏检');
    expect(text).toContain('配电房');
    const alerts = (await hub.api('GET', `/api/v1/alerts?estate=${ESTATE}&rule=patrol.missed`)).json.items as Array<{ device: string; severity: number }>;
    expect(alerts.map((a) => [a.device, a.severity])).toEqual([[cps[3]!.id, 2]]);

    // History: the patrol's three scans.
    await page.locator('.phone-tabs [data-tab=patrol]').click();
    await expect.poll(() => page.locator('[data-testid=patrol-history] li').count(), { timeout: 10_000 }).toBe(3);
    expect(issues.problems()).toEqual([]);
    await context.close();
  }, 90_000);
});
