import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { avcMime, fmp4Splitter, Fmp4Error, type Fmp4Segment } from '../../lib/fmp4.js';

/** Two seconds of real H.264 (a key frame every 12 frames) from Debian's ffmpeg, as the relay remuxes it. */
function realFmp4(): Buffer {
  const r = spawnSync(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-t', '2', '-c:v', 'libx264', '-profile:v', 'baseline', '-g', '12', '-pix_fmt', 'yuv420p', '-f', 'mp4', '-movflags', 'empty_moov+default_base_moof+frag_keyframe', 'pipe:1'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr.toString()}`);
  return r.stdout;
}

describe('fragmented MP4 splitting (lib/fmp4.ts)', () => {
  const bytes = realFmp4();

  it('cuts ffmpeg output into one init segment and one media segment per key frame, however it arrives', () => {
    for (const chunk of [1, 7, 1000, 65_536, bytes.length]) {
      const s = fmp4Splitter(8 * 1024 * 1024);
      const out: Fmp4Segment[] = [];
      for (let i = 0; i < bytes.length; i += chunk) out.push(...s.push(bytes.subarray(i, i + chunk)));
      expect(out[0]!.kind).toBe('init');
      expect(out.slice(1).every((x) => x.kind === 'media')).toBe(true);
      // 50 frames, a key frame every 12: 5 segments.
      expect(out.length - 1).toBe(5);
      // Nothing lost but what MSE does not need after the last fragment (ffmpeg's mfra index).
      const total = out.reduce((n, x) => n + x.bytes.length, 0);
      expect(total).toBeGreaterThan(bytes.length * 0.98);
      expect(out[1]!.bytes.toString('latin1', 4, 8)).toBe('moof');
    }
  });

  it('names the codec for MediaSource from the avcC record', () => {
    const s = fmp4Splitter(8 * 1024 * 1024);
    const init = s.push(bytes).find((x) => x.kind === 'init')!;
    expect(avcMime(init.bytes)).toMatch(/^video\/mp4; codecs="avc1\.42c0[0-9a-f]{2}"$/);
    expect(avcMime(Buffer.from('not an mp4 at all'))).toBeNull();
  });

  it('refuses garbage, a box over the cap and media before the init segment, without buffering them', () => {
    expect(() => fmp4Splitter(1024).push(Buffer.from('RTSP/1.0 200 OK\r\n\r\n'))).toThrow(Fmp4Error);
    const huge = Buffer.alloc(16);
    huge.writeUInt32BE(50 * 1024 * 1024, 0);
    huge.write('mdat', 4, 'latin1');
    expect(() => fmp4Splitter(8 * 1024 * 1024).push(huge)).toThrow(/over the cap/);
    const moof = Buffer.alloc(8);
    moof.writeUInt32BE(8, 0);
    moof.write('moof', 4, 'latin1');
    expect(() => fmp4Splitter(1024).push(moof)).toThrow(/before the init segment/);
  });
});
