import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanInfo, readDeviceInfo } from '../../../devices/onvif-camera/device-info.js';
import { OnvifOptions } from '../../../devices/onvif-camera/options.js';
import { OnvifSession } from '../../../devices/onvif-camera/session.js';
import { OnvifError } from '../../../devices/onvif-camera/soap-client.js';
import { parseXml, path, type Xml } from '../../../devices/onvif-camera/soap.js';
import type { OnvifSimulator } from '../../../devices/onvif-camera/simulator.js';
import { PASS, startSim, USER } from './harness.js';

const session = (sim: OnvifSimulator, password: string): OnvifSession =>
  new OnvifSession(OnvifOptions.parse({ address: sim.deviceUrl(), username: USER, password, requestTimeoutMs: 1_000 }));

/** The body of a GetDeviceInformationResponse as a device could send it. */
const answer = (inner: string): Xml =>
  path(parseXml(`<Envelope><Body><GetDeviceInformationResponse>${inner}</GetDeviceInformationResponse></Body></Envelope>`), 'Envelope', 'Body', 'GetDeviceInformationResponse') as Xml;

describe('OnvifSession.deviceInformation (GetDeviceInformation)', () => {
  let sim: OnvifSimulator;
  beforeAll(async () => {
    sim = await startSim({ clockOffsetMs: 600_000 });
  });
  afterAll(() => sim?.stop());

  it('reads make, model, firmware, serial and hardware id with the right credentials (after a clock sync)', async () => {
    const s = session(sim, PASS);
    await s.syncClock();
    expect(await s.deviceInformation()).toEqual({ manufacturer: 'RedButler', model: 'SIM-PTZ-1', firmware: 'V5.7.3', serial: 'RB0001', hardwareId: '88' });
  });

  it('a wrong password is an auth error', async () => {
    const s = session(sim, 'not-the-password');
    await s.syncClock();
    const err = await s.deviceInformation().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnvifError);
    expect((err as OnvifError).kind).toBe('auth');
  });
});

describe('readDeviceInfo', () => {
  it('trims, caps at 64 characters and leaves out what is missing or empty', () => {
    const info = readDeviceInfo(answer(`<Manufacturer>  HIKVISION </Manufacturer><Model>${'M'.repeat(100)}</Model><FirmwareVersion></FirmwareVersion><SerialNumber>007</SerialNumber>`));
    expect(info).toEqual({ manufacturer: 'HIKVISION', model: 'M'.repeat(64), serial: '007' });
  });

  it('decodes entities and turns control characters (a terminal escape, a forged log line) into spaces', () => {
    const info = readDeviceInfo(answer('<Manufacturer>AT&amp;T &#x4e2d;</Manufacturer><Model>X&#27;[2J&#10;level=info</Model>'));
    expect(info).toEqual({ manufacturer: 'AT&T 中', model: 'X [2J level=info' });
  });

  it('cleanInfo keeps whole characters at the cap', () => {
    expect(cleanInfo('摄'.repeat(70))).toBe('摄'.repeat(64));
    expect(cleanInfo('😀'.repeat(70))).toHaveLength(128); // 64 code points, 2 UTF-16 units each
    expect(cleanInfo('   ')).toBeUndefined();
  });
});
