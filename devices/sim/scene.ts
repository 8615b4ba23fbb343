import { glyph, GLYPH_H, GLYPH_W, textWidth } from './font5x7.js';
import { createBandedEncoder, encodeJpeg, type Rgba } from './jpeg.js';

/**
 * What simulated cameras see: an estate gate in daylight (sky and ground gradients, houses,
 * two pillars with a sliding gate, a guard booth, sensor noise), with the device time and the
 * camera name burnt in at the top like a camera's OSD. 640×360, the size of a camera's sub stream.
 *
 * Cost: the scene is drawn and encoded once per process (the background bands, ~150 ms); each
 * picture then draws and encodes only the top band with the text (one jpeg-js call, ~17 ms on the
 * 2-core development machine) and is kept for the rest of that second.
 */
export const SNAPSHOT_W = 640;
export const SNAPSHOT_H = 360;
const BAND = 40; // the OSD band: text 14 px tall at y 13
const QUALITY = 60;

type Rgb = readonly [number, number, number];

function fill(img: Rgba, x0: number, y0: number, x1: number, y1: number, c: Rgb | ((x: number, y: number) => Rgb)): void {
  for (let y = Math.max(0, y0); y < Math.min(img.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(img.width, x1); x++) {
      const [r, g, b] = typeof c === 'function' ? c(x, y) : c;
      const p = (y * img.width + x) * 4;
      img.data[p] = r;
      img.data[p + 1] = g;
      img.data[p + 2] = b;
      img.data[p + 3] = 255;
    }
  }
}

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];

/** A small seeded PRNG (mulberry32): the same noise every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The still scene, 640×360 RGBA. */
export function drawScene(): Rgba {
  const W = SNAPSHOT_W;
  const H = SNAPSHOT_H;
  const img: Rgba = { width: W, height: H, data: new Uint8Array(W * H * 4) };
  const horizon = 150;
  fill(img, 0, 0, W, horizon, (_x, y) => mix([96, 150, 210], [196, 218, 236], y / horizon)); // sky
  fill(img, 0, horizon, W, H, (_x, y) => mix([128, 128, 122], [84, 84, 88], (y - horizon) / (H - horizon))); // ground
  // Houses behind the gate: blocks with rows of windows.
  const houses: Array<[number, number, number, Rgb]> = [[0, 70, 120, [178, 168, 150]], [120, 50, 110, [200, 190, 172]], [380, 60, 130, [186, 176, 160]], [510, 40, 130, [170, 160, 146]]];
  for (const [x, top, w, c] of houses) {
    fill(img, x, top, x + w, horizon, c);
    for (let wy = top + 12; wy < horizon - 14; wy += 22) for (let wx = x + 10; wx < x + w - 14; wx += 24) fill(img, wx, wy, wx + 12, wy + 12, [92, 110, 128]);
  }
  // The road into the estate, lighter kerbs, a dashed centre line towards the gate.
  fill(img, 0, horizon, W, H, (x, y) => {
    const half = 60 + (y - horizon) * 1.35;
    const d = Math.abs(x - W / 2);
    if (d > half + 14) return mix([140, 146, 128], [104, 116, 92], (y - horizon) / (H - horizon)); // verges
    if (d > half) return [172, 170, 164]; // kerb
    const dash = d < 2 + (y - horizon) * 0.02 && Math.floor((y - horizon) / 18) % 2 === 0;
    return dash ? [226, 222, 200] : mix([104, 104, 108], [74, 74, 80], (y - horizon) / (H - horizon));
  });
  // Gate: two brick pillars, a lintel, a sliding gate half open, a guard booth on the right.
  const brick: Rgb = [150, 76, 58];
  fill(img, 150, 100, 186, 272, brick);
  fill(img, 454, 100, 490, 272, brick);
  fill(img, 140, 88, 500, 104, [128, 52, 44]);
  for (let x = 186; x < 330; x += 12) fill(img, x, 196, x + 3, 268, [58, 60, 64]);
  fill(img, 186, 196, 330, 200, [58, 60, 64]);
  fill(img, 186, 246, 330, 250, [58, 60, 64]);
  fill(img, 530, 170, 610, 262, [214, 214, 206]);
  fill(img, 542, 186, 598, 216, [70, 96, 120]);
  fill(img, 524, 160, 616, 170, [96, 110, 124]);
  // Sensor noise: small, fixed, so the picture does not look computed.
  const random = prng(0x5eed);
  for (let p = 0; p < img.data.length; p += 4) {
    const n = (random() - 0.5) * 14;
    for (let k = 0; k < 3; k++) img.data[p + k] = Math.max(0, Math.min(255, img.data[p + k]! + n));
  }
  return img;
}

/** Text in white with a black outline (an OSD that reads on sky and road alike), `scale` px a dot. */
export function drawText(img: Rgba, text: string, x: number, y: number, scale: number): void {
  const chars = [...text];
  const dot = (gx: number, gy: number, c: Rgb, grow: number): void =>
    fill(img, x + gx * scale - grow, y + gy * scale - grow, x + (gx + 1) * scale + grow, y + (gy + 1) * scale + grow, c);
  for (const pass of [0, 1]) {
    chars.forEach((ch, i) => {
      const rows = glyph(ch);
      for (let gy = 0; gy < GLYPH_H; gy++) {
        for (let gx = 0; gx < GLYPH_W; gx++) {
          if ((rows[gy]! >> (GLYPH_W - 1 - gx)) & 1) dot(i * (GLYPH_W + 1) + gx, gy, pass === 0 ? [0, 0, 0] : [255, 255, 255], pass === 0 ? 1 : 0);
        }
      }
    });
  }
}

/** "2026-05-01 21:16:19": local wall-clock time of a device in China Standard Time. */
export function osdTime(deviceMs: number): string {
  return new Date(deviceMs + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** Background bands, encoded once per process and shared by every simulated camera. */
let background: { scene: Rgba; intervals: Buffer[]; encoder: ReturnType<typeof createBandedEncoder> } | undefined;

function backgroundOnce(): NonNullable<typeof background> {
  if (background) return background;
  const scene = drawScene();
  const encoder = createBandedEncoder({ width: SNAPSHOT_W, height: SNAPSHOT_H, bandHeight: BAND, quality: QUALITY });
  const rowBytes = SNAPSHOT_W * 4;
  const intervals: Buffer[] = [];
  for (let i = 0; i < encoder.bands; i++) {
    const y0 = i * BAND;
    intervals.push(encoder.encodeBand(i, scene.data.subarray(y0 * rowBytes, Math.min(SNAPSHOT_H, y0 + BAND) * rowBytes)));
  }
  return (background = { scene, intervals, encoder });
}

export interface SnapshotRenderer {
  /** A 640×360 JPEG of the scene with `deviceMs` (device clock) and the name burnt in. */
  render(deviceMs: number, comment: string): Buffer;
  /**
   * Draw and encode the still background now (once per process, ~0.8 s of CPU), so the first
   * snapshot a device is asked for costs what the others do (~20 ms), not a request timeout on a
   * loaded machine. Simulators call it in start().
   */
  prepare(): void;
}

/** Pictures of one camera: `name` (ASCII; other characters show as blocks) at the top right. */
export function createSnapshotRenderer(name: string): SnapshotRenderer {
  const label = name.slice(0, 24);
  let last: { second: number; comment: string; jpeg: Buffer } | undefined;
  return {
    prepare: () => void backgroundOnce(),
    render(deviceMs, comment) {
      const second = Math.floor(deviceMs / 1000);
      if (last && last.second === second && last.comment === comment) return last.jpeg;
      const bg = backgroundOnce();
      const band: Rgba = { width: SNAPSHOT_W, height: BAND, data: bg.scene.data.slice(0, SNAPSHOT_W * BAND * 4) };
      drawText(band, osdTime(deviceMs), 16, 13, 2);
      drawText(band, label, SNAPSHOT_W - 16 - textWidth(label, 2), 13, 2);
      const jpeg = bg.encoder.assemble([bg.encoder.encodeBand(0, band.data), ...bg.intervals.slice(1)], comment);
      last = { second, comment, jpeg };
      return jpeg;
    },
  };
}

/**
 * A number-plate crop, as an ANPR camera sends it beside the scene: a blue Chinese plate with the
 * plate in white. The province character (not ASCII) shows as a block.
 */
export function plateJpeg(plate: string): Buffer {
  const img: Rgba = { width: 160, height: 48, data: new Uint8Array(160 * 48 * 4) };
  fill(img, 0, 0, 160, 48, [24, 30, 40]);
  fill(img, 6, 5, 154, 43, [235, 235, 235]);
  fill(img, 8, 7, 152, 41, [18, 74, 176]);
  const text = plate.slice(0, 8);
  const scale = 3;
  drawText(img, text, Math.max(10, Math.round((160 - textWidth(text, scale)) / 2)), 14, scale);
  return encodeJpeg(img, 70);
}
