import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator, type AccessGateSimulator } from '../../devices/access-gate/simulator.js';
import { startRtspSimulator, type RtspSimulator } from '../../devices/onvif-camera/rtsp-sim.js';
import { createOnvifSimulator, type OnvifSimulator } from '../../devices/onvif-camera/simulator.js';
import type { Gateway } from '../../gateway/main.js';
import { gatewayConfig, startGatewayInProcess } from '../support/gateway.js';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { launchChromium, loggedIn, PASSWORD, VIEWPORTS } from './support.js';
import { seedTwoEstates } from './video-support.js';

/**
 * Issue 20, alarm clips end to end: the camera simulator's real RTSP → the real gateway (its rolling
 * buffer of the camera the gate links, ffmpeg) → the real hub → headless Chromium. A forced door at the
 * gate produces a clip linked to its alert that plays in the alert's detail on the phone; a volunteer
 * of another estate gets 404 for it; the view is audited.
 */
const ESTATE_A = 'estate-a';
const ESTATE_B = 'estate-b';
const CAM = { username: 'operator', password: 'Cam-Secret-2718' };

describe('alarm clips end to end: forced door → clip in the alert detail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-video-clips-'));
  let rtsp: RtspSimulator;
  let cam: OnvifSimulator;
  let hub: TestHub;
  let gateway: Gateway;
  let gate: AccessGateSimulator;
  let browser: Browser;

  beforeAll(async () => {
    rtsp = await startRtspSimulator(CAM);
    cam = createOnvifSimulator({ ...CAM, maxPullWaitMs: 1_000, discoveryPort: false, rtspUrl: `rtsp://127.0.0.1:${rtsp.port}` });
    await cam.start();
    const hubDir = join(dir, 'hub');
    await seedTwoEstates(hubDir, [ESTATE_A, ESTATE_B]);
    hub = await startTestHub({ dataDir: hubDir });
    const creds = await hub.provision(ESTATE_A, 'gw-1');
    const raw = gatewayConfig({ creds, mqttPort: hub.mqttPort, dataDir: join(dir, 'gw') });
    raw.hub = { ...(raw.hub as object), httpUrl: hub.httpUrl };
    raw.video = { clips: { before: '3s', after: '3s' } };
    raw.devices = [
      { id: 'gate-east', name: '东门门禁', driver: 'hikvision-isapi', options: {}, cameras: ['cam-east'] },
      { id: 'cam-east', name: '东门摄像机', driver: 'onvif', options: { address: cam.deviceUrl(), ...CAM, pullTimeoutS: 1, requestTimeoutMs: 2_000 } },
    ];
    gateway = await startGatewayInProcess(raw);
    gate = createAccessGateSimulator({ target: `http://127.0.0.1:${gateway.pushAddress().port}/isapi/gate-east`, deviceName: 'gate-east', format: 'json' });
    // The gate links the camera: the gateway buffers it all along (one RTSP session, nobody watching).
    expect(await waitFor(() => rtsp.sessions() === 1, 30_000)).toBe(true);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    gate?.stop();
    await gateway?.stop().catch(() => {});
    await hub?.stop().catch(() => {});
    await Promise.all([cam?.stop(), rtsp?.stop()].map((p) => p?.catch(() => {})));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a forced door produces a clip linked to its alert that plays in the alert detail; another estate gets 404; the view is audited', async () => {
    // The buffer holds its 3 s before the alarm.
    await new Promise((r) => setTimeout(r, 4_000));
    expect((await gate.send('forced', { door: 1 })).status).toBe(200);
    let alertId = '';
    await waitFor(async () => {
      const items = ((await hub.api('GET', `/api/v1/alerts?estate=${ESTATE_A}`)).json.items ?? []) as Array<{ id: string; rule: string }>;
      alertId = items.find((a) => a.rule === 'door.forced')?.id ?? '';
      return alertId !== '';
    }, 15_000);
    expect(alertId).not.toBe('');

    // The phone opens the alert at once: the clip is on its way, then appears (the page asks every 5 s).
    const { page } = await loggedIn(browser, hub.httpUrl, 'vol-a', VIEWPORTS.phone, `/me?alert=${alertId}`);
    await page.locator('[data-testid=alert-clip-pending]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid=alert-clip-pending]').textContent()).toContain('报警录像生成中');
    const player = page.locator('[data-testid=alert-clip]');
    await player.waitFor({ timeout: 40_000 });
    expect(await player.getAttribute('data-camera')).toBe('cam-east');
    expect(await player.textContent()).toContain('东门摄像机');
    await page.locator('[data-testid=alert-clip-play]').click();
    const video = player.locator('video');
    await video.waitFor({ timeout: 10_000 });
    // It plays: the duration is the clip's (about before + after) and the playhead moves.
    await page.waitForFunction((el) => (el as unknown as { currentTime: number }).currentTime > 0.5, await video.elementHandle(), { timeout: 15_000 });
    const duration = await video.evaluate((el) => (el as unknown as { duration: number }).duration);
    expect(duration).toBeGreaterThan(4);
    expect(duration).toBeLessThan(9);
    await page.screenshot({ path: join(dir, 'clip.png') });

    // The clip as the API lists it; another estate's volunteer gets 404 for both.
    const login = async (name: string): Promise<string> => {
      const r = await fetch(`${hub.httpUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: PASSWORD }) });
      return ((await r.json()) as { token: string }).token;
    };
    const [a, b] = [await login('vol-a'), await login('vol-b')];
    const list = (await (await fetch(`${hub.httpUrl}/api/v1/alerts/${alertId}/clips`, { headers: { authorization: `Bearer ${a}` } })).json()) as { items: Array<{ url: string; camera: string }> };
    expect(list.items).toHaveLength(1);
    expect((await fetch(`${hub.httpUrl}${list.items[0]!.url}`, { headers: { authorization: `Bearer ${b}` } })).status).toBe(404);
    expect((await fetch(`${hub.httpUrl}/api/v1/alerts/${alertId}/clips`, { headers: { authorization: `Bearer ${b}` } })).status).toBe(404);
    const audit = (await hub.api('GET', '/api/v1/audit?action=video.clip')).json.items as Array<{ actor: string; target: string }>;
    expect(audit.some((e) => e.target === 'device:cam-east')).toBe(true);
    await page.context().close();
  }, 120_000);
});
