import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapNotification } from '../../../devices/onvif-camera/driver.js';
import { jpegComment } from '../../../devices/sim/jpeg.js';
import { envelope, NS, securityHeader } from '../../../devices/onvif-camera/soap.js';
import { OnvifError, soapCall } from '../../../devices/onvif-camera/soap-client.js';
import type { OnvifSimulator } from '../../../devices/onvif-camera/simulator.js';
import { deviceRequest } from '../../../devices/http-digest.js';
import { DeviceCommandError, type DraftEvent } from '../../../devices/types.js';
import { getDriverFactory } from '../../../devices/registry.js';
import { validateEvent } from '../../../protocol/index.js';
import { captureLog } from '../../support/hub.js';
import { freePort } from '../../support/ports.js';
import { command, PASS, startDriver, startSim, until, USER, type Run } from './harness.js';

const TEN_MIN = 10 * 60_000;

describe('onvif driver against the simulated camera (device clock 10 min ahead)', () => {
  let sim: OnvifSimulator;
  let run: Run;
  beforeAll(async () => {
    sim = await startSim({ clockOffsetMs: TEN_MIN, createdWindowMs: 5_000 });
    run = await startDriver(sim);
  });
  afterAll(async () => {
    await run?.stop();
    await sim?.stop();
  });

  it('is registered as "onvif"', () => {
    expect(getDriverFactory('onvif')?.kind).toBe('onvif-camera');
  });

  it('connects using the device clock offset from GetSystemDateAndTime', () => {
    const s = run.driver.stats();
    expect(s.connected).toBe(true);
    expect(s.subscribed).toBe(true);
    expect(Math.abs(s.clockOffsetMs - TEN_MIN)).toBeLessThan(1_500);
    expect(run.driver.health().online).toBe(true);
  });

  it('the simulator refuses a token whose Created is our (stale) clock, and a replayed token', async () => {
    const call = { url: sim.deviceUrl(), action: `${NS.tds}/GetDeviceInformation`, body: `<GetDeviceInformation xmlns="${NS.tds}"/>` };
    const opts = { ...call, username: USER, password: PASS, deadlineMs: 2_000, maxResponseBytes: 65_536 };
    const err = await soapCall({ ...opts, clockOffsetMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnvifError);
    expect((err as OnvifError).kind).toBe('auth');
    expect((err as OnvifError).subcode).toBe('ter:NotAuthorized');
    expect(sim.authFailures()).toContain('stale');
    // With the offset the same call works.
    const info = await soapCall({ ...opts, clockOffsetMs: TEN_MIN });
    expect(info.Manufacturer).toBe('RedButler');
    // The very same envelope (same nonce) sent twice: the second is a replay.
    const body = envelope(call.body, securityHeader(USER, PASS, sim.deviceNow()));
    const post = () => deviceRequest({ method: 'POST', url: sim.deviceUrl(), body, contentType: 'application/soap+xml', deadlineMs: 2_000 });
    expect((await post()).status).toBe(200);
    const again = await post();
    expect(again.status).toBe(400);
    expect(again.body.toString()).toContain('ter:NotAuthorized');
    expect(sim.authFailures()).toContain('replay');
  });

  const cases = [
    ['motion', 'camera.motion', 'tns1:RuleEngine/CellMotionDetector/Motion'],
    ['tamper', 'camera.tamper', 'tns1:RuleEngine/TamperDetector/Tamper'],
    ['signalLoss', 'camera.signalLoss', 'tns1:VideoSource/SignalLoss'],
  ] as const;
  for (const [kind, type, topic] of cases) {
    it(`maps ${kind} notifications to ${type} with state and topic`, async () => {
      for (const state of [true, false]) {
        const from = run.drafts.length;
        sim.raise(kind, state);
        expect(await until(() => run.drafts.slice(from).some((d) => d.type === type))).toBe(true);
        const draft = run.drafts.slice(from).find((d) => d.type === type) as DraftEvent;
        expect(draft.data).toEqual({ state, source: { vendor: 'onvif', topic } });
        // Device time moved onto ours: not ten minutes in the future.
        expect(Math.abs(draft.ts - Date.now())).toBeLessThan(3_000);
        const checked = validateEvent({ v: 1, id: '01J00000000000000000000000', seq: 1, estate: 'e1', gateway: 'g1', device: 'cam-1', ...draft });
        expect(checked.ok).toBe(true);
      }
    });
  }

  it('ptz.move, ptz.stop and ptz.preset reach the device', async () => {
    const moved = await run.driver.execute(command('ptz.move', { pan: 0.5, tilt: -0.25, zoom: 0, timeoutMs: 1_500 }));
    expect(moved).toMatchObject({ pan: 0.5, tilt: -0.25 });
    expect(sim.ptz()).toMatchObject({ moving: true, velocity: { pan: 0.5, tilt: -0.25, zoom: 0 } });
    expect(sim.executions().at(-1)).toMatchObject({ op: 'ContinuousMove', args: { pan: '0.5', tilt: '-0.25', timeout: 'PT1.5S' } });
    await run.driver.execute(command('ptz.stop'));
    expect(sim.ptz().moving).toBe(false);
    expect(sim.executions().at(-1)?.op).toBe('Stop');
    expect(await run.driver.execute(command('ptz.preset', { preset: 'Car park' }))).toEqual({ preset: '2' });
    expect(sim.executions().at(-1)).toMatchObject({ op: 'GotoPreset', args: { preset: '2' } });
    const err = await run.driver.execute(command('ptz.preset', { preset: 'nowhere' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceCommandError);
    expect((err as DeviceCommandError).message).toMatch(/no preset "nowhere"/);
  });

  it('camera.snapshot returns the JPEG with its sha256', async () => {
    const r = await run.driver.execute(command('camera.snapshot'));
    const jpeg = Buffer.from(r.bytes as string, 'base64');
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    expect([jpeg.at(-2), jpeg.at(-1)]).toEqual([0xff, 0xd9]);
    expect(r.sha256).toBe(createHash('sha256').update(jpeg).digest('hex'));
    expect(r.size).toBe(jpeg.length);
    expect(jpegComment(jpeg)).toMatch(/^RedButler ONVIF simulator \d{4}-/);
    expect(sim.snapshots()).toBe(1);
  });
});

describe('onvif driver: credentials and health', () => {
  let sim: OnvifSimulator;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('a wrong password gives a clear error, not a crash', async () => {
    const run = await startDriver(sim, { password: 'wrong-password' });
    try {
      expect(run.driver.stats().connected).toBe(false);
      expect(run.driver.stats().lastError).toMatch(/refused the credentials \(ter:NotAuthorized\)/);
      const err = await run.driver.execute(command('ptz.stop')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeviceCommandError);
      expect((err as DeviceCommandError).message).toMatch(/refused the credentials/);
      expect(sim.authFailures()).toContain('bad-digest');
    } finally {
      await run.stop();
    }
  });

  it('goes offline only after offlineAfterFails failed polls and online after onlineAfterOks', async () => {
    const run = await startDriver(sim);
    const count = (type: string): number => run.drafts.filter((d) => d.type === type).length;
    try {
      // One bad answer is not an outage.
      sim.garbageNext(1);
      await new Promise((r) => setTimeout(r, 400));
      expect(run.driver.health().online).toBe(true);
      expect(count('device.offline')).toBe(0);
      sim.goOffline();
      expect(await until(() => count('device.offline') === 1)).toBe(true);
      expect(run.driver.health().online).toBe(false);
      const offline = run.drafts.find((d) => d.type === 'device.offline');
      expect((offline?.data as { reason?: string }).reason).toBeTruthy();
      sim.goOnline();
      expect(await until(() => count('device.online') === 1)).toBe(true);
      expect(run.driver.health().online).toBe(true);
      // Events flow again through a fresh subscription.
      await until(() => run.driver.stats().subscribed);
      const from = run.drafts.length;
      await new Promise((r) => setTimeout(r, 100));
      sim.raise('motion', true);
      expect(await until(() => run.drafts.slice(from).some((d) => d.type === 'camera.motion'))).toBe(true);
      expect(count('device.offline')).toBe(1);
    } finally {
      await run.stop();
    }
  });
});

describe('onvif driver: a camera that comes up after the gateway', () => {
  it('says once, calmly, that it retries (a warning, no error), and is online once the camera is up', async () => {
    const port = await freePort();
    const { log, lines } = captureLog('debug');
    const run = await startDriver(`http://127.0.0.1:${port}/onvif/device_service`, {}, log);
    let sim: OnvifSimulator | undefined;
    try {
      await new Promise((r) => setTimeout(r, 300)); // several polls while nothing listens
      const warnings = lines.filter((l) => l.level >= 40);
      expect(warnings.map((l) => l.msg)).toEqual(['camera not reachable yet; retrying every 0.06 s']);
      expect(warnings[0]!.level).toBe(40); // warn, not error
      sim = await startSim({ port });
      expect(await until(() => run.driver.health().online && run.driver.stats().subscribed)).toBe(true);
      expect(lines.filter((l) => l.level >= 40)).toHaveLength(1);
    } finally {
      await run.stop();
      await sim?.stop();
    }
  });
});

describe('mapNotification', () => {
  const n = (topic: string, data: Record<string, string>, operation = 'Changed') => ({
    topic, at: Date.UTC(2026, 0, 1), operation, data: new Map(Object.entries(data)), source: new Map<string, string>(),
  });
  it('accepts any namespace prefix, refuses unknown topics and non-boolean states', () => {
    expect(mapNotification(n('tt1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' }), 0)).toMatchObject({ type: 'camera.motion', ts: Date.UTC(2026, 0, 1) });
    expect(mapNotification(n('tns1:Device/Trigger/DigitalInput', { LogicalState: 'true' }), 0)).toMatch(/not reported/);
    expect(mapNotification(n('tns1:RuleEngine/TamperDetector/Tamper', { IsTamper: 'maybe' }), 0)).toMatch(/not a boolean/);
    expect(mapNotification(n('tns1:VideoSource/SignalLoss', { State: 'false' }, 'Initialized'), 0)).toMatch(/initial/);
  });
});

describe('onvif driver: health means usable, pacing, device information', () => {
  let sim: OnvifSimulator;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('records make, model and firmware from GetDeviceInformation and counts every request', async () => {
    const run = await startDriver(sim);
    try {
      const h = run.driver.health();
      expect(h.state).toBe('online');
      expect(h.info).toMatchObject({ manufacturer: expect.any(String), model: expect.any(String), firmware: expect.any(String) });
      expect(run.requests).toContainEqual({ op: 'GetDeviceInformation', outcome: 'ok' });
      expect(run.requests).toContainEqual({ op: 'GetSystemDateAndTime', outcome: 'ok' });
    } finally {
      await run.stop();
    }
  });

  it('a wrong password is auth-failed at once (not online, not offline), reported once, with a clear error', async () => {
    const run = await startDriver(sim, { password: 'wrong-password' });
    try {
      const h = run.driver.health();
      expect(h).toMatchObject({ online: false, state: 'auth-failed' });
      expect(h.error).toMatch(/refused the credentials/);
      // The clock poll (no login) keeps working; the state stays auth-failed, announced once.
      await new Promise((r) => setTimeout(r, 400));
      expect(run.driver.health().state).toBe('auth-failed');
      const offline = run.drafts.filter((d) => d.type === 'device.offline');
      expect(offline).toHaveLength(1);
      expect(offline[0]?.data).toMatchObject({ state: 'auth-failed', reason: expect.stringMatching(/refused the credentials/) });
      expect(run.requests.some((r) => r.outcome === 'auth-failed')).toBe(true);
    } finally {
      await run.stop();
    }
  });

  it('paces a camera that answers PullMessages at once to about 1 pull/s, warns, and ends the warning when it holds again', async () => {
    const run = await startDriver(sim, { pullTimeoutS: 2 });
    try {
      await until(() => run.driver.stats().subscribed);
      sim.setPullMode('immediate');
      const from = sim.pulls();
      // The third early answer in a row raises the warning (after ~1 s + 2 s of pacing).
      expect(await until(() => run.driver.health().warnings !== undefined, 10_000)).toBe(true);
      expect(run.driver.health().warnings?.[0]).toMatchObject({ code: 'pull-early', message: expect.stringMatching(/at most 1\/s/) });
      expect(run.driver.health().state).toBe('online');
      const window = sim.pulls();
      await new Promise((r) => setTimeout(r, 3_000));
      // Unpaced, this camera drew thousands of pulls a second; paced, at most one a second.
      expect(sim.pulls() - window).toBeLessThanOrEqual(3);
      expect(sim.pulls() - from).toBeLessThanOrEqual(8);
      // Events still arrive while paced.
      sim.raise('motion', true);
      expect(await until(() => run.drafts.some((d) => d.type === 'camera.motion'), 10_000)).toBe(true);
      sim.setPullMode('hold');
      expect(await until(() => run.driver.health().warnings === undefined, 12_000)).toBe(true);
      expect(run.driver.stats().earlyPulls).toBeGreaterThanOrEqual(3);
    } finally {
      sim.setPullMode('hold');
      await run.stop();
    }
  });
});
