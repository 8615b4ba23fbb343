import { describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../gateway/config.js';
import { ffmpegArgs, needsFullProbe, startPuller, type StreamEnd } from '../../gateway/video/puller.js';
import { redactor, rtspUrlWithLogin, videoDurationMs } from '../../gateway/video/secrets.js';
import { silentLogger } from '../../lib/log.js';

describe('video relay helpers', () => {
  it('puts the camera login into the RTSP address percent-encoded, replacing one already there', () => {
    expect(rtspUrlWithLogin('rtsp://10.0.0.5:554/Streaming/101?a=1', 'ad@min', 'p@ss:w/rd%')).toBe('rtsp://ad%40min:p%40ss%3Aw%2Frd%25@10.0.0.5:554/Streaming/101?a=1');
    expect(rtspUrlWithLogin('rtsp://old:login@cam/s', 'u', 'p')).toBe('rtsp://u:p@cam/s');
    expect(rtspUrlWithLogin('rtsp://cam/s')).toBe('rtsp://cam/s');
    expect(() => rtspUrlWithLogin('http://u:secret@cam/s', 'u', 'p')).toThrow(/not an rtsp:\/\/ address: http:\/\/\*\*\*@cam/);
  });

  it('redacts URL logins and every spelling of the password', () => {
    const redact = redactor('p@ss:w/rd%');
    expect(redact('rtsp://ad%40min:p%40ss%3Aw%2Frd%25@10.0.0.5/s: 401')).toBe('rtsp://***@10.0.0.5/s: 401');
    expect(redact('said p@ss:w/rd% and p%40ss%3Aw%2Frd%25')).toBe('said *** and ***');
    expect(redactor('1')('rtsp://u:1@h/ 1 2')).toBe('rtsp://***@h/ 1 2');
  });

  it('probes briefly first, and fully again only for a camera that gives no H.264 parameters up front', () => {
    const quick = ffmpegArgs('rtsp://127.0.0.1/s', 5_000, true);
    expect(quick.slice(quick.indexOf('-probesize'), quick.indexOf('-i'))).toEqual(['-probesize', '32768', '-analyzeduration', '0']);
    expect(ffmpegArgs('rtsp://127.0.0.1/s', 5_000)).not.toContain('-probesize');
    // ffmpeg 5.1's words when the description has no sprop-parameter-sets and the probe ran out.
    expect(needsFullProbe('ffmpeg: [rtsp @ 0x55] Could not find codec parameters for stream 0 (Video: h264, none): unspecified size')).toBe(true);
    expect(needsFullProbe('ffmpeg: [mp4 @ 0x55] dimensions not set')).toBe(true);
    expect(needsFullProbe('ffmpeg: Could not write header for output file #0 (incorrect codec parameters ?): Invalid argument')).toBe(true);
    expect(needsFullProbe('ffmpeg: rtsp://127.0.0.1:9/main: Connection refused')).toBe(false);
    expect(needsFullProbe('ffmpeg: method DESCRIBE failed: 401 Unauthorized')).toBe(false);
  });

  it('reads the durations of the video keys', () => {
    expect(videoDurationMs('8s')).toBe(8_000);
    expect(videoDurationMs('1500ms')).toBe(1_500);
    expect(videoDurationMs('1m')).toBe(60_000);
    expect(() => videoDurationMs('8')).toThrow();
  });

  it('a missing ffmpeg ends the stream with an error naming video.ffmpeg', async () => {
    const ends: StreamEnd[] = [];
    const p = startPuller({
      ffmpeg: '/nonexistent/ffmpeg',
      source: { quality: 'main', uri: 'rtsp://127.0.0.1:9/s', username: 'u', password: 'secret-pw', ptz: false },
      maxSegmentBytes: 1 << 20,
      startTimeoutMs: 5_000,
      stallTimeoutMs: 5_000,
      log: silentLogger(),
      onOpened: () => undefined,
      onMedia: () => undefined,
      onEnd: (e) => ends.push(e),
    });
    await p.exited;
    expect(ends).toEqual([{ code: 'RB_ERR_CAMERA_UNREACHABLE', message: 'ffmpeg not found (video.ffmpeg "/nonexistent/ffmpeg")' }]);
  });

  it('video.* config: defaults per docs/video.md; a bad value is named by its key', () => {
    const base = {
      estate: 'e1',
      gateway: 'gw1',
      hub: { url: 'mqtt://127.0.0.1:1883', username: 'u', password: 'p' },
      privacy: { salt: 'salt-0123456789abcdef' },
      devices: [{ id: 'gate-1', driver: 'hikvision-isapi' }],
    };
    expect(validateGatewayConfig(base).video).toEqual({ enabled: true, ffmpeg: 'ffmpeg', maxStreams: 4, maxSegmentBytes: 8_388_608, startTimeout: '8s', stallTimeout: '10s',
      clips: { enabled: true, quality: 'sub', before: '10s', after: '20s', maxPending: 200 },
    });
    // Given in part, the rest of video.clips keeps its defaults.
    expect(validateGatewayConfig({ ...base, video: { clips: { after: '5s' } } }).video.clips).toEqual({ enabled: true, quality: 'sub', before: '10s', after: '5s', maxPending: 200 });
    expect(() => validateGatewayConfig({ ...base, video: { clips: { before: 'ten' } } })).toThrow(/video\.clips\.before/);
    expect(() => validateGatewayConfig({ ...base, video: { maxStreams: 0, startTimeout: 'soon' } })).toThrow(/video\.maxStreams[\s\S]*video\.startTimeout|video\.startTimeout[\s\S]*video\.maxStreams/);
  });
});
