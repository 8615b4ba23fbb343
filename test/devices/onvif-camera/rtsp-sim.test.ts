import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspSimulatorUnavailable, startRtspSimulator, type RtspSimulator } from '../../../devices/onvif-camera/rtsp-sim.js';
import { readClock } from '../../../protocol/video-clock.js';
import { ffprobe, pullFrames, until } from './rtsp-tools.js';

/**
 * The camera simulator's RTSP server (rtsp-sim.py through rtsp-sim.ts, docs/video.md "The simulator's
 * stream"): real GStreamer, read by Debian's ffprobe and ffmpeg over RTSP/TCP.
 */
describe('RTSP simulator', () => {
  let sim: RtspSimulator;
  beforeAll(async () => {
    sim = await startRtspSimulator();
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('serves H.264 at 1280×720 on /main and 640×360 on /sub', async () => {
    expect(sim.url('main')).toBe(`rtsp://127.0.0.1:${sim.port}/main`);
    const [main, sub] = await Promise.all([ffprobe(sim.url('main')), ffprobe(sim.url('sub'))]);
    expect(main).toEqual([expect.objectContaining({ codec_name: 'h264', width: 1280, height: 720 })]);
    expect(sub).toEqual([expect.objectContaining({ codec_name: 'h264', width: 640, height: 360 })]);
    expect(main[0]!.profile).toMatch(/Baseline/);
  });

  it('runs a pipeline only while someone pulls; every frame carries the wall-clock time', async () => {
    // ffprobe's sessions of the test above are gone: no viewer, no pipeline.
    expect(await until(() => sim.sessions() === 0 && sim.running().length === 0, 5_000)).toBe(true);
    const before = sim.everOpened();
    const lags: number[] = [];
    const pull = pullFrames(sim.url('main'), 1280, 720, (luma, at) => {
      const ms = readClock(luma, 1280, 720);
      lags.push(ms === null ? Number.NaN : at - ms);
    });
    try {
      expect(await until(() => lags.length >= 5, 10_000), pull.stderr()).toBe(true);
      // Each frame decodes, and says a time within 2 s of when it reached us (decode and buffering included).
      expect(lags.every((l) => Number.isFinite(l) && Math.abs(l) < 2_000), JSON.stringify(lags)).toBe(true);
      expect(sim.sessions()).toBe(1);
      expect(sim.running()).toEqual(['/main']);
      expect(sim.everOpened()).toBe(before + 1);
    } finally {
      // Gone without a TEARDOWN (killed): the server notices the closed connection.
      await pull.stop('SIGKILL');
    }
    expect(await until(() => sim.sessions() === 0, 5_000)).toBe(true);
    expect(await until(() => sim.running().length === 0, 5_000)).toBe(true);
  });

  it('asks for the login when given one, and stops by PID', async () => {
    const locked = await startRtspSimulator({ username: 'viewer', password: 'p@ss word', fps: 10 });
    try {
      await expect(ffprobe(locked.url('sub'))).rejects.toThrow(/401/);
      const withLogin = locked.url('sub').replace('rtsp://', `rtsp://viewer:${encodeURIComponent('p@ss word')}@`);
      expect(await ffprobe(withLogin)).toEqual([expect.objectContaining({ codec_name: 'h264', width: 640, height: 360 })]);
    } finally {
      await locked.stop();
    }
    expect(() => process.kill(locked.pid, 0)).toThrow();
  });

  it('names the Debian packages when Python cannot load GStreamer', async () => {
    // -S: no site packages, so no python3-gi, as on a machine without it.
    const err = await startRtspSimulator({ python: ['/usr/bin/python3', '-S'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RtspSimulatorUnavailable);
    expect((err as Error).message).toMatch(/cannot load GStreamer's RTSP server through python3-gi .*install the Debian packages python3-gi gir1\.2-gst-rtsp-server-1\.0/);
  });
});
