/**
 * The simulator's machine-readable clock (docs/video.md, "The simulator's stream"): the wall-clock time
 * in ms, burnt into every frame as a row of square blocks across the top, so a test reads it back from
 * the picture a screen shows and measures glass-to-glass latency. Pure: the browser bundle, the tests and
 * (by these constants) the Python simulator share it.
 *
 * Layout, left to right from (0, 0): 4 marker blocks 1 0 1 0, 48 data bits of the time (most significant
 * first), 4 check bits (the count of 1s among the data bits, mod 16, most significant first). A block is
 * `blockSize(width)` pixels square; 1 is white (luma 235), 0 black (luma 16).
 */
export const CLOCK_MARKER = [1, 0, 1, 0] as const;
export const CLOCK_DATA_BITS = 48;
export const CLOCK_CHECK_BITS = 4;
export const CLOCK_BLOCKS = CLOCK_MARKER.length + CLOCK_DATA_BITS + CLOCK_CHECK_BITS;

/** Block edge in pixels for a frame `width` wide: the row spans 56/64 of it. */
export const blockSize = (width: number): number => Math.max(4, Math.floor(width / 64));

/** The bits of the row for time `ms`, marker and check included (what the simulator draws). */
export function clockBits(ms: number): number[] {
  const data: number[] = [];
  const v = Math.max(0, Math.floor(ms));
  for (let i = CLOCK_DATA_BITS - 1; i >= 0; i--) data[i] = Math.floor(v / 2 ** (CLOCK_DATA_BITS - 1 - i)) % 2;
  const ones = data.reduce((a, b) => a + b, 0) % 2 ** CLOCK_CHECK_BITS;
  const check: number[] = [];
  for (let i = CLOCK_CHECK_BITS - 1; i >= 0; i--) check.push(Math.floor(ones / 2 ** i) % 2);
  return [...CLOCK_MARKER, ...data, ...check];
}

/**
 * Read the time back from a frame's luma (one byte a pixel, row-major, `width` wide; from canvas RGBA
 * take any channel into such an array). Samples the middle of each block; null when the marker or the
 * check bits do not match (no clock in this picture, or a damaged frame).
 */
export function readClock(luma: ArrayLike<number>, width: number, height: number): number | null {
  const b = blockSize(width);
  if (b * CLOCK_BLOCKS > width || b > height) return null;
  const y = Math.floor(b / 2);
  const bits: number[] = [];
  for (let i = 0; i < CLOCK_BLOCKS; i++) {
    // The mean of the block's middle quarter, so a compression artefact at one pixel does not flip a bit.
    let sum = 0;
    let n = 0;
    const x0 = i * b + Math.floor(b / 4);
    const x1 = i * b + Math.ceil((3 * b) / 4);
    for (let yy = y - Math.floor(b / 8); yy <= y + Math.floor(b / 8); yy++) {
      for (let x = x0; x < x1; x++) {
        sum += luma[yy * width + x] ?? 0;
        n++;
      }
    }
    bits.push(sum / n >= 128 ? 1 : 0);
  }
  for (let i = 0; i < CLOCK_MARKER.length; i++) if (bits[i] !== CLOCK_MARKER[i]) return null;
  let ms = 0;
  let ones = 0;
  for (let i = 0; i < CLOCK_DATA_BITS; i++) {
    const bit = bits[CLOCK_MARKER.length + i]!;
    ms = ms * 2 + bit;
    ones += bit;
  }
  let check = 0;
  for (let i = 0; i < CLOCK_CHECK_BITS; i++) check = check * 2 + bits[CLOCK_MARKER.length + CLOCK_DATA_BITS + i]!;
  return check === ones % 2 ** CLOCK_CHECK_BITS ? ms : null;
}
