import jpegJs from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { createBandedEncoder, encodeJpeg, jpegComment, splitJpeg } from '../../../devices/sim/jpeg.js';
import { createSnapshotRenderer, drawScene, drawText, osdTime, plateJpeg, SNAPSHOT_H, SNAPSHOT_W } from '../../../devices/sim/scene.js';

const AT = Date.UTC(2026, 4, 1, 13, 16, 19); // 21:16:19 in China Standard Time

const decode = (jpeg: Buffer) => jpegJs.decode(jpeg, { useTArray: true });

/** Mean absolute difference of the RGB channels of two RGBA pictures over rows [y0, y1). */
function meanDiff(a: Uint8Array, b: Uint8Array, width: number, y0: number, y1: number): number {
  let sum = 0;
  let n = 0;
  for (let p = y0 * width * 4; p < y1 * width * 4; p += 4) {
    for (let k = 0; k < 3; k++) sum += Math.abs(a[p + k]! - b[p + k]!);
    n += 3;
  }
  return sum / n;
}

/** The scene's top band as the renderer draws it for `ms`, before compression. */
function expectedBand(ms: number, name: string): Uint8Array {
  const scene = drawScene();
  const band = { width: SNAPSHOT_W, height: 40, data: scene.data.slice(0, SNAPSHOT_W * 40 * 4) };
  drawText(band, osdTime(ms), 16, 13, 2);
  drawText(band, name.toUpperCase(), SNAPSHOT_W - 16 - (name.length * 6 * 2 - 2), 13, 2);
  return band.data;
}

describe('simulated camera pictures', () => {
  it('are 640×360 JPEGs any decoder reads, with restart intervals, the device time burnt in and in a COM segment', () => {
    const r = createSnapshotRenderer('cam-east');
    const jpeg = r.render(AT, 'RedButler ONVIF simulator 2026-05-01T13:16:19Z');
    expect([jpeg[0], jpeg[1], jpeg.at(-2), jpeg.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
    expect(jpegComment(jpeg)).toBe('RedButler ONVIF simulator 2026-05-01T13:16:19Z');
    const { segments } = splitJpeg(jpeg);
    expect(segments.map((s) => s.marker)).toEqual([0xe0, 0xfe, 0xdb, 0xc0, 0xc4, 0xdd, 0xda]); // APP0 COM DQT SOF0 DHT DRI SOS
    const img = decode(jpeg);
    expect([img.width, img.height]).toEqual([SNAPSHOT_W, SNAPSHOT_H]);
    expect(jpeg.length).toBeGreaterThan(10_000); // a picture, not a placeholder
    expect(jpeg.length).toBeLessThan(100_000);

    // The top band reads as the OSD of this second, not of another one.
    expect(osdTime(AT)).toBe('2026-05-01 21:16:19');
    const right = meanDiff(img.data, expectedBand(AT, 'cam-east'), SNAPSHOT_W, 0, 40);
    const wrong = meanDiff(img.data, expectedBand(AT + 7_000, 'cam-east'), SNAPSHOT_W, 0, 40);
    expect(right).toBeLessThan(6);
    expect(wrong).toBeGreaterThan(right + 0.5);
    // The rest is the still scene.
    expect(meanDiff(img.data, drawScene().data, SNAPSHOT_W, 40, SNAPSHOT_H)).toBeLessThan(6);
  });

  it('a new second changes only the OSD band; the same second is served from the cache', () => {
    const r = createSnapshotRenderer('cam-1');
    const a = r.render(AT, 'a');
    expect(r.render(AT + 500, 'a')).toBe(a);
    const b = r.render(AT + 1_000, 'a');
    expect(b.equals(a)).toBe(false);
    const [da, db] = [decode(a), decode(b)];
    expect(meanDiff(da.data, db.data, SNAPSHOT_W, 0, 40)).toBeGreaterThan(0);
    expect(meanDiff(da.data, db.data, SNAPSHOT_W, 40, SNAPSHOT_H)).toBe(0);
  });

  it('the plate crop is a blue plate with the plate in white', () => {
    const img = decode(plateJpeg('京A12345'));
    expect([img.width, img.height]).toEqual([160, 48]);
    const at = (x: number, y: number) => [...img.data.subarray((y * 160 + x) * 4, (y * 160 + x) * 4 + 3)];
    const [r, g, b] = at(12, 10);
    expect(b).toBeGreaterThan(140);
    expect(r).toBeLessThan(60);
    expect(g).toBeLessThan(110);
  });

  it('cuts the whole byte of padding jpeg-js leaves after a scan that ends on a byte boundary', () => {
    const enc = createBandedEncoder({ width: 16, height: 16, bandHeight: 8, quality: 60 });
    let found = 0;
    for (let v = 0; v < 256 && found < 1; v++) {
      const band = new Uint8Array(16 * 8 * 4).fill(v);
      const raw = splitJpeg(encodeJpeg({ width: 16, height: 8, data: band }, 60)).scan;
      const cut = enc.encodeBand(0, band);
      if (cut.length === raw.length) continue;
      found += 1;
      expect(raw.subarray(raw.length - 2)).toEqual(Buffer.from([0xff, 0x00])); // a stuffed byte of ones
      expect(cut.equals(raw.subarray(0, raw.length - 2))).toBe(true);
      // jpeg-js's decoder wants the RST marker right after the interval: it reads this picture.
      const jpeg = enc.assemble([cut, enc.encodeBand(1, band)], 'x');
      const img = decode(jpeg);
      expect(Math.abs(img.data[16 * 12 * 4]! - v)).toBeLessThan(4);
    }
    expect(found).toBeGreaterThan(0);
  });

  it('the banded encoder refuses what restart intervals cannot express', () => {
    expect(() => createBandedEncoder({ width: 100, height: 80, bandHeight: 40, quality: 60 })).toThrow(/multiples of 8/);
    const enc = createBandedEncoder({ width: 16, height: 24, bandHeight: 16, quality: 60 });
    expect(enc.bands).toBe(2); // 16 + a shorter final band of 8
    expect(() => enc.assemble([], 'x')).toThrow(/encode a band first/);
    const rows = (n: number) => new Uint8Array(16 * n * 4).fill(200);
    const jpeg = enc.assemble([enc.encodeBand(0, rows(16)), enc.encodeBand(1, rows(8))], 'x');
    expect([decode(jpeg).width, decode(jpeg).height]).toEqual([16, 24]);
  });
});
