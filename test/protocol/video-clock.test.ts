import { describe, expect, it } from 'vitest';
import { blockSize, clockBits, CLOCK_BLOCKS, readClock } from '../../protocol/video-clock.js';

/** Draw the clock row as the simulator does, with some noise, into a luma frame. */
function frame(ms: number, width: number, height: number, noise = 0): Uint8Array {
  const luma = new Uint8Array(width * height).fill(90);
  const b = blockSize(width);
  const bits = clockBits(ms);
  for (let i = 0; i < bits.length; i++) {
    for (let y = 0; y < b; y++) for (let x = i * b; x < (i + 1) * b; x++) luma[y * width + x] = Math.max(0, Math.min(255, (bits[i] ? 235 : 16) + Math.round((Math.sin(x * 7 + y * 13) * noise))));
  }
  return luma;
}

describe('the simulator clock burnt into frames', () => {
  it('reads back what was drawn, at both stream sizes, through noise', () => {
    for (const [w, h] of [[1280, 720], [640, 360], [1920, 1080]] as const) {
      for (const ms of [0, 1, Date.UTC(2026, 11, 7, 12, 0, 0, 123), 2 ** 48 - 1]) {
        expect(readClock(frame(ms, w, h, 60), w, h)).toBe(ms);
      }
    }
    expect(CLOCK_BLOCKS * blockSize(640)).toBeLessThanOrEqual(640);
  });

  it('says null for a picture without the clock or with a flipped bit', () => {
    expect(readClock(new Uint8Array(640 * 360).fill(128), 640, 360)).toBeNull();
    const f = frame(1_796_644_072_197, 640, 360);
    const b = blockSize(640);
    // Flip data bit 10 (after the 4 marker blocks): the check bits no longer match.
    for (let y = 0; y < b; y++) for (let x = (4 + 10) * b; x < (5 + 10) * b; x++) f[y * 640 + x] = 255 - f[y * 640 + x]!;
    expect(readClock(f, 640, 360)).toBeNull();
    expect(readClock(new Uint8Array(10), 10, 1)).toBeNull();
  });
});
