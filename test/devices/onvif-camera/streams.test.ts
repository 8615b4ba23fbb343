import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRtspSimulator, type RtspSimulator } from '../../../devices/onvif-camera/rtsp-sim.js';
import type { OnvifSimulator } from '../../../devices/onvif-camera/simulator.js';
import { pickQualities, safeStreamUri, type MediaProfile } from '../../../devices/onvif-camera/streams.js';
import { DeviceCommandError } from '../../../devices/types.js';
import { PASS, startDriver, startSim, USER, type Run } from './harness.js';
import { ffprobe } from './rtsp-tools.js';

/**
 * Driver.streams (issue 20, docs/video.md): the ONVIF driver asks the camera simulator for its
 * profiles and their RTSP addresses (GetProfiles, GetStreamUri), and the address it gives is one
 * ffprobe can open with the device's credentials, on the real RTSP simulator.
 */
const signal = (): AbortSignal => AbortSignal.timeout(5_000);

describe('onvif driver streams()', () => {
  let rtsp: RtspSimulator;
  const sims: OnvifSimulator[] = [];
  const runs: Run[] = [];
  const camera = async (o: Parameters<typeof startSim>[0]): Promise<Run> => {
    const sim = await startSim({ discoveryPort: false, ...o });
    sims.push(sim);
    const run = await startDriver(sim);
    runs.push(run);
    return run;
  };
  beforeAll(async () => {
    rtsp = await startRtspSimulator({ username: USER, password: PASS });
  });
  afterEach(async () => {
    await Promise.all(runs.splice(0).map((r) => r.stop()));
    await Promise.all(sims.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await rtsp?.stop();
  });

  it('gives main and sub with their sizes, PTZ and the login; ffprobe opens the main stream with it', async () => {
    const run = await camera({ rtspUrl: `rtsp://127.0.0.1:${rtsp.port}` });
    const streams = await run.driver.streams(signal());
    // The simulator's presets (GetPresets), for the screens' preset buttons.
    const presets = [{ token: '1', name: 'Gate' }, { token: '2', name: 'Car park' }];
    expect(streams).toEqual([
      { quality: 'main', uri: rtsp.url('main'), username: USER, password: PASS, width: 1280, height: 720, ptz: true, presets },
      { quality: 'sub', uri: rtsp.url('sub'), username: USER, password: PASS, width: 640, height: 360, ptz: true, presets },
    ]);
    const withLogin = streams[0]!.uri.replace('rtsp://', `rtsp://${encodeURIComponent(USER)}:${encodeURIComponent(PASS)}@`);
    expect(await ffprobe(withLogin)).toEqual([expect.objectContaining({ codec_name: 'h264', width: 1280, height: 720 })]);
    // Asked once: a second call within the minute is answered from the cache.
    const asked = run.requests.filter((r) => r.op === 'GetStreamUri').length;
    expect(asked).toBe(2);
    expect(await run.driver.streams(signal())).toEqual(streams);
    expect(run.requests.filter((r) => r.op === 'GetStreamUri')).toHaveLength(asked);
    expect(run.requests.filter((r) => r.op === 'GetPresets')).toHaveLength(1);
  });

  it('rejects clearly when the camera faults GetStreamUri', async () => {
    const run = await camera({});
    const err = await run.driver.streams(signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceCommandError);
    expect((err as DeviceCommandError).code).toBe('RB_ERR_DEVICE_FAILED');
    expect((err as Error).message).toMatch(/^GetStreamUri: SOAP fault ter:IncompleteConfiguration: no RTSP stream configured/);
  });

  it('refuses an address that is not rtsp://, and drops credentials embedded in one', async () => {
    const http = await camera({ rtspUrl: 'http://127.0.0.1:9/video' });
    await expect(http.driver.streams(signal())).rejects.toThrow(/^GetStreamUri: not an RTSP address \(http:\), refused$/);
    const file = await camera({ rtspUrl: 'file:///etc' });
    await expect(file.driver.streams(signal())).rejects.toThrow(/not an RTSP address \(file:\)/);
    const embedded = await camera({ rtspUrl: 'rtsp://admin:hunter2@192.0.2.7:554/Streaming', ptz: false });
    const streams = await embedded.driver.streams(signal());
    expect(streams.map((s) => s.uri)).toEqual(['rtsp://192.0.2.7:554/Streaming/main', 'rtsp://192.0.2.7:554/Streaming/sub']);
    expect(JSON.stringify(streams.map((s) => s.uri))).not.toContain('hunter2');
    expect(streams.map((s) => s.ptz)).toEqual([false, false]);
    // No PTZ: no presets asked for, none listed.
    expect(streams.map((s) => s.presets)).toEqual([undefined, undefined]);
    expect(embedded.requests.filter((r) => r.op === 'GetPresets')).toEqual([]);
  });

  it('rejects when the camera cannot be reached', async () => {
    const sim = await startSim({ discoveryPort: false, rtspUrl: 'rtsp://127.0.0.1:1' });
    const url = sim.deviceUrl();
    await sim.stop();
    const run = await startDriver(url);
    runs.push(run);
    await expect(run.driver.streams(signal())).rejects.toBeInstanceOf(DeviceCommandError);
  });
});

describe('pickQualities', () => {
  const p = (token: string, width?: number, height?: number, encoding: string | undefined = 'H264'): MediaProfile => ({ token, width, height, encoding, ptz: false });

  it('takes the largest H.264 picture as main and the smallest as sub; one profile serves both', () => {
    expect(pickQualities([p('a', 640, 360), p('b', 1920, 1080), p('c', 1280, 720), p('j', 3840, 2160, 'JPEG')])).toEqual({ main: p('b', 1920, 1080), sub: p('a', 640, 360) });
    expect(pickQualities([p('only', 1280, 720)])).toEqual({ main: p('only', 1280, 720), sub: p('only', 1280, 720) });
    expect(() => pickQualities([p('j', 640, 480, 'JPEG')])).toThrow(/no H\.264 media profile/);
  });
});

describe('safeStreamUri', () => {
  const uri = (u: string): string => safeStreamUri({ MediaUri: { Uri: u } });
  it('keeps rtsp:// and rtsps:// without their credentials, refuses anything else', () => {
    expect(uri('rtsps://user:secret@cam.local:322/live?profile=1')).toBe('rtsps://cam.local:322/live?profile=1');
    for (const bad of ['rtsp://cam/a b', 'rtsp://cam/a\u0000', 'rtsp:/no-host', 'javascript:alert(1)', `rtsp://cam/${'a'.repeat(2100)}`]) {
      expect(() => uri(bad), bad).toThrow(/GetStreamUri/);
    }
    expect(() => safeStreamUri({})).toThrow(/no URI/);
  });
});
