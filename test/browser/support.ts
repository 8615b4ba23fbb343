import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createAccessGateSimulator, type AccessGateSimulator } from '../../devices/access-gate/simulator.js';
import { createOnvifSimulator, type OnvifSimulator } from '../../devices/onvif-camera/simulator.js';
import type { Gateway } from '../../gateway/main.js';
import { runCli } from '../support/cli.js';
import { gatewayConfig, startGatewayInProcess } from '../support/gateway.js';
import { startTestHub, type TestHub } from '../support/hub.js';

/** Debian's chromium, headless, with nothing that phones home (scripts/ensure-deps.sh installs it). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.RB_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

export const VIEWPORTS = {
  screen: { width: 1920, height: 1080 },
  phone: { width: 360, height: 740 },
  desktop: { width: 1440, height: 900 },
} as const;

export const PASSWORD = 'browser-test-pass-1';
export const API_TOKEN = 'browser-test-api-token-0123456789';
const CAM = { username: 'operator', password: 'Cam-Secret-2718' };

export interface User {
  name: string;
  role: 'volunteer' | 'patrol' | 'center' | 'admin';
  scope: string;
}

/**
 * One street with two estates on a real hub: estate-a has a gateway (in process) with an access gate
 * whose alarms come with a snapshot from a simulated ONVIF camera; estate-b has nobody's devices.
 * Users are added with the CLI (`red-butler hub user add`), as an installer would.
 */
export interface World {
  hub: TestHub;
  dir: string;
  hubDir: string;
  gate: AccessGateSimulator;
  gateway: Gateway;
  camera: OnvifSimulator;
  ports: { httpPort: number; mqttPort: number };
  restartHub(): Promise<void>;
  stopHub(): Promise<void>;
  stop(): Promise<void>;
}

export const STREET = 'street-1';
export const ESTATE_A = 'estate-a';
export const ESTATE_B = 'estate-b';

/** cameraRtspUrl: the simulated camera's GetStreamUri base (else a fault), so its streams() and the relay's hello list it with PTZ and presets. */
export async function startWorld(users: User[], opts: { cameraRtspUrl?: string } = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-browser-'));
  const hubDir = join(dir, 'hub');
  mkdirSync(hubDir, { recursive: true });
  const cli = async (args: string[]) => {
    const r = await runCli(['hub', ...args, '--data-dir', hubDir]);
    if (r.code !== 0) throw new Error(`red-butler hub ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    return r.stdout;
  };
  await cli(['street', 'add', '--street', STREET, '--name', '幸福街道']);
  await cli(['estate', 'add', '--estate', ESTATE_A, '--street', STREET, '--name', '枫林苑']);
  await cli(['estate', 'add', '--estate', ESTATE_B, '--street', STREET, '--name', '桂花园']);
  for (const u of users) await cli(['user', 'add', '--name', u.name, '--role', u.role, '--scope', u.scope, '--password', PASSWORD]);
  let hub = await startTestHub({ dataDir: hubDir, apiToken: API_TOKEN });
  const ports = { httpPort: Number(new URL(hub.httpUrl).port), mqttPort: hub.mqttPort };

  const camera = createOnvifSimulator({ ...CAM, maxPullWaitMs: 1_000, discoveryPort: false, rtspUrl: opts.cameraRtspUrl });
  await camera.start();
  const creds = await hub.provision(ESTATE_A, 'gw-1');
  const raw = gatewayConfig({ creds, mqttPort: hub.mqttPort, dataDir: join(dir, 'gw') });
  raw.hub = { ...(raw.hub as object), httpUrl: hub.httpUrl };
  raw.devices = [
    { id: 'gate-east', driver: 'hikvision-isapi', options: {}, cameras: ['cam-east'] },
    { id: 'cam-east', driver: 'onvif', options: { address: camera.deviceUrl(), ...CAM, pullTimeoutS: 1, requestTimeoutMs: 2_000 } },
  ];
  const gateway = await startGatewayInProcess(raw);
  const gate = createAccessGateSimulator({ target: `http://127.0.0.1:${gateway.pushAddress().port}/isapi/gate-east`, deviceName: 'gate-east', format: 'json' });
  let hubUp = true;

  const world: World = {
    get hub() {
      return hub;
    },
    dir,
    hubDir,
    gate,
    gateway,
    camera,
    ports,
    async stopHub() {
      if (hubUp) await hub.stop();
      hubUp = false;
    },
    async restartHub() {
      await world.stopHub();
      hub = await startTestHub({ dataDir: hubDir, apiToken: API_TOKEN, ...ports });
      hubUp = true;
    },
    async stop() {
      gate.stop();
      await gateway.stop().catch(() => {});
      await camera.stop().catch(() => {});
      await world.stopHub().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** A fresh browser context (own sessionStorage/localStorage) at `viewport`, logged in as `name`. */
export async function loggedIn(browser: Browser, baseUrl: string, name: string, viewport: { width: number; height: number }, path = '/'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, baseURL: baseUrl, locale: 'zh-CN', timezoneId: 'Europe/Berlin' });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[browser ${name}] ${err.message}`));
  await page.goto(path);
  await login(page, name);
  return { context, page };
}

export async function login(page: Page, name: string): Promise<void> {
  await page.locator('input[name=name]').fill(name);
  await page.locator('input[name=password]').fill(PASSWORD);
  await page.locator('button[type=submit]').click();
  await page.locator('input[name=password]').waitFor({ state: 'detached', timeout: 10_000 });
}

/** Wait until the live link says it is connected (the pill in the top bar). */
export async function waitLive(page: Page, timeout = 15_000): Promise<void> {
  await page.locator('[data-testid=conn].conn-connected').waitFor({ timeout });
}
