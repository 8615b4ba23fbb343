import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtspSimulator, type RtspSimulator } from '../../devices/onvif-camera/rtsp-sim.js';
import { createClipRecorder } from '../../gateway/video/clips.js';
import { createLogger } from '../../lib/log.js';
import { waitFor } from '../support/hub.js';
import { childrenNamed } from '../support/rtsp-camera.js';

/**
 * A config reload that drops a camera's last link stops its clip ring in the background; the
 * recorder's stop() right after must still wait for that ring's ffmpeg, so none outlives the gateway.
 */
let rtsp: RtspSimulator;
const dir = mkdtempSync(join(tmpdir(), 'rb-clips-reload-'));

/** Whether a process with this pid exists (running, or exited and not yet reaped). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

beforeAll(async () => {
  rtsp = await startRtspSimulator();
}, 30_000);

afterAll(async () => {
  await rtsp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('alarm clips: a ring dropped by a reload', () => {
  it('stop() right after the reload waits for the dropped ring: its ffmpeg is gone', async () => {
    let linked = ['cam-1'];
    const recorder = createClipRecorder({
      dataDir: dir,
      hubUrl: 'http://127.0.0.1:9',
      username: 'gw',
      password: 'gw-secret',
      ffmpeg: 'ffmpeg',
      quality: 'sub',
      beforeMs: 2_000,
      afterMs: 2_000,
      maxPending: 10,
      maxSegmentBytes: 8 * 1024 * 1024,
      startTimeoutMs: 8_000,
      stallTimeoutMs: 5_000,
      cameras: () => linked,
      sources: () => Promise.resolve([{ quality: 'sub', uri: rtsp.url('/sub'), ptz: false }]),
      log: createLogger({ name: 'clips-reload-test', level: 'warn' }),
    });
    recorder.start();
    try {
      expect(await waitFor(() => recorder.pids().length === 1 && rtsp.sessions() === 1, 15_000)).toBe(true);
      const pid = recorder.pids()[0]!;
      expect(childrenNamed('ffmpeg')).toEqual([pid]);
      // The reload unlinks the camera: its ring leaves the recorder and stops in the background.
      linked = [];
      recorder.camerasChanged();
      expect(recorder.stats().buffering).toBe(0);
      await recorder.stop();
      // Checked at once: reaped, not merely signalled.
      expect(exists(pid), `ffmpeg ${pid} of the dropped ring outlived stop()`).toBe(false);
      expect(childrenNamed('ffmpeg')).toEqual([]);
    } finally {
      await recorder.stop();
    }
  }, 40_000);
});
