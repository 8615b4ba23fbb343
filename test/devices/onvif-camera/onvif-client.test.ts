import type { Cam as CallbackCam } from 'onvif';
import { Cam } from 'onvif/promises/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnvifSimulator } from '../../../devices/onvif-camera/simulator.js';
import { PASS, startSim, until, USER } from './harness.js';

/**
 * An independent ONVIF client (the `onvif` npm package, Cam) against the simulator: if it can
 * connect with WS-Security, read the device and its profiles, get the snapshot URI and receive a
 * motion event through its own PullPoint loop, the simulator speaks ONVIF, not just our dialect.
 */
describe('onvif npm client against the simulator', () => {
  let sim: OnvifSimulator;
  let cam: Cam | undefined;
  beforeAll(async () => {
    sim = await startSim({ clockOffsetMs: 5 * 60_000 });
  });
  afterAll(async () => {
    cam?.removeAllListeners('event');
    await sim?.stop();
  });

  it('connects, reads device information, profiles and the snapshot URI', async () => {
    const url = new URL(sim.deviceUrl());
    cam = new Cam({ hostname: url.hostname, port: Number(url.port), path: url.pathname, username: USER, password: PASS, autoconnect: false, timeout: 5_000 });
    await cam.connect();
    const info = await cam.getDeviceInformation();
    expect(info).toMatchObject({ manufacturer: 'RedButler', model: 'SIM-PTZ-1', serialNumber: 'RB0001' });
    // The promise wrapper is a Proxy that reads properties from the callback Cam (its d.ts says `_cam`).
    const state = cam as unknown as CallbackCam;
    expect(state.profiles?.map((p) => p.$.token)).toEqual(['Profile_1', 'Profile_2']);
    expect(state.activeSource).toMatchObject({ sourceToken: 'VideoSource_1', profileToken: 'Profile_1' });
    const snap = await cam.getSnapshotUri();
    expect(snap.uri).toMatch(new RegExp(`^${sim.deviceUrl().replace('/onvif/device_service', '')}/onvif/snapshot/[0-9a-f]+\\.jpg$`));
  });

  it('receives a motion event through its PullPoint loop', async () => {
    const c = cam as Cam;
    const events: Array<{ topic: { _: string }; message: { message: { data: { simpleItem: { $: { Name: string; Value: unknown } } } } } }> = [];
    c.on('event', (e: (typeof events)[number]) => events.push(e));
    expect(await until(() => sim.subscriptions() > 0, 3_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    sim.raise('motion', true);
    expect(await until(() => events.length > 0, 4_000)).toBe(true);
    expect(events[0]?.topic._).toBe('tns1:RuleEngine/CellMotionDetector/Motion');
    expect(events[0]?.message.message.data.simpleItem.$).toEqual({ Name: 'IsMotion', Value: true });
    expect(sim.authFailures()).toEqual([]);
  });
});
