import { afterEach, describe, expect, it } from 'vitest';
import { createIsapiDriver, IsapiOptions } from '../../devices/access-gate/isapi-driver.js';
import { createAccessGateSimulator, type AccessGateSimulator } from '../../devices/access-gate/simulator.js';
import { AnprOptions, createAnprDriver } from '../../devices/barrier-gate/anpr-driver.js';
import { createBarrierGateSimulator, type BarrierGateSimulator } from '../../devices/barrier-gate/simulator.js';
import { parseIsapiDeviceInfo } from '../../devices/isapi-health.js';
import type { DraftEvent, Driver, RequestOutcome } from '../../devices/types.js';
import { silentLogger } from '../../lib/log.js';

const USER = 'admin';
const PASS = 'Gate-Secret-4711';
const noRoutes = { register: () => undefined, unregister: () => undefined };

async function until(check: () => boolean, ms = 3_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

interface Run {
  driver: Driver;
  drafts: DraftEvent[];
  requests: RequestOutcome[];
}

function ctx<O>(id: string, driver: string, options: O, run: Omit<Run, 'driver'>) {
  return {
    estate: 'e', gateway: 'g', device: { id, driver, options: options as Record<string, unknown> }, options, log: silentLogger(), hash: (v: string) => v,
    routes: noRoutes, emit: async (d: DraftEvent) => void run.drafts.push(d), meter: { request: (_op: string, o: RequestOutcome) => void run.requests.push(o) },
  };
}

describe('ISAPI devices: health means usable (GET /ISAPI/System/deviceInfo with Digest)', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function gate(): Promise<AccessGateSimulator> {
    const sim = createAccessGateSimulator({ target: 'http://127.0.0.1:9/unused', deviceName: 'east gate' });
    await sim.listen({ username: USER, password: PASS });
    cleanup.push(async () => (sim.stop(), await sim.close()));
    return sim;
  }

  function isapi(sim: AccessGateSimulator, password: string): Run {
    const run = { drafts: [] as DraftEvent[], requests: [] as RequestOutcome[] };
    const options = IsapiOptions.parse({ address: sim.address(), username: USER, password, healthPollMs: 100 });
    const driver = createIsapiDriver(ctx('gate-1', 'hikvision-isapi', options, run));
    void driver.start();
    cleanup.push(() => driver.stop());
    return { ...run, driver };
  }

  it('an access controller that refuses the password is auth-failed, announced once, with a clear error', async () => {
    const run = isapi(await gate(), 'wrong-password');
    expect(await until(() => run.driver.health().state === 'auth-failed')).toBe(true);
    expect(run.driver.health()).toMatchObject({ online: false, error: expect.stringMatching(/refused the credentials/) });
    await new Promise((r) => setTimeout(r, 350));
    expect(run.drafts.filter((d) => d.type === 'device.offline')).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ state: 'auth-failed' }) }),
    ]);
    expect(run.requests.filter((o) => o === 'auth-failed').length).toBeGreaterThanOrEqual(2);
  });

  it('with the right password it is online from the probe alone (no push yet), with model and firmware', async () => {
    const run = isapi(await gate(), PASS);
    expect(await until(() => run.driver.health().state === 'online')).toBe(true);
    expect(run.driver.health().info).toMatchObject({ manufacturer: 'Hikvision', model: 'DS-K1T671MF', firmware: 'V3.2.30 build 260101' });
    expect(run.drafts).toEqual([]);
    expect(run.requests).toContain('ok');
  });

  it('an ANPR camera with a wrong password is auth-failed too', async () => {
    const sim: BarrierGateSimulator = createBarrierGateSimulator({ target: 'http://127.0.0.1:9/unused' });
    const address = await sim.listen({ username: USER, password: PASS });
    cleanup.push(async () => sim.close());
    const run = { drafts: [] as DraftEvent[], requests: [] as RequestOutcome[] };
    const options = AnprOptions.parse({ address, username: USER, password: 'nope', healthPollMs: 100 });
    const driver = createAnprDriver(ctx('barrier-1', 'hikvision-anpr', options, run));
    await driver.start();
    cleanup.push(() => driver.stop());
    expect(await until(() => driver.health().state === 'auth-failed')).toBe(true);
    expect(run.drafts[0]).toMatchObject({ type: 'device.offline', data: { state: 'auth-failed' } });
  });

  it('without address or username nothing is probed: the push side alone decides', async () => {
    const run = { drafts: [] as DraftEvent[], requests: [] as RequestOutcome[] };
    const options = IsapiOptions.parse({ healthPollMs: 100 });
    const driver = createIsapiDriver(ctx('gate-1', 'hikvision-isapi', options, run));
    await driver.start();
    cleanup.push(() => driver.stop());
    await new Promise((r) => setTimeout(r, 250));
    expect(driver.health()).toEqual({ online: false, state: 'offline', lastSeen: undefined });
    expect(run.requests).toEqual([]);
  });

  it('parseIsapiDeviceInfo reads firmware fields and refuses a DTD', () => {
    const ok = Buffer.from('<?xml version="1.0"?><DeviceInfo version="2.0"><model>DS-TCG406</model><firmwareVersion>V4.5.0</firmwareVersion><serialNumber>X1</serialNumber></DeviceInfo>');
    expect(parseIsapiDeviceInfo(ok)).toEqual({ manufacturer: 'Hikvision', model: 'DS-TCG406', firmware: 'V4.5.0', serial: 'X1' });
    expect(parseIsapiDeviceInfo(Buffer.from('<!DOCTYPE x [<!ENTITY a "b">]><DeviceInfo><model>&a;</model></DeviceInfo>'))).toBeUndefined();
    expect(parseIsapiDeviceInfo(Buffer.from('{"not":"xml"}'))).toBeUndefined();
  });
});
