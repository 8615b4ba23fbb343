import jpegJs from 'jpeg-js';
import { mcuLayout, trimScan } from './jpeg-scan.js';

/**
 * JPEG for the simulators, with jpeg-js (a pure-JS baseline encoder) doing the DCT and Huffman work,
 * and one trick to make a picture whose time changes every second cheap: restart intervals.
 *
 * jpeg-js spends ~16 ms setting up its tables on every call, whatever the size, and ~15 ms more on
 * a 640×360 picture. But a baseline JPEG with a restart interval (DRI, ITU-T T.81 §B.2.4.4) codes
 * each interval on its own: the DC predictors restart at zero and the interval ends byte-aligned,
 * padded with 1-bits, before an RSTm marker (§F.1.2.3, §F.1.4.4). So a horizontal band of whole MCU
 * rows encoded alone by jpeg-js *is* that band's interval in the big picture, provided every band
 * uses the same tables (same quality: jpeg-js always writes the standard Huffman tables of T.81
 * Annex K and 4:4:4 sampling, one 8×8 block per component per MCU). The still background is encoded
 * once, band by band; a new picture re-encodes only the band with the time in it (one call). One
 * catch: jpeg-js may end a scan with a whole byte of padding, which must not stand before an RST
 * marker; jpeg-scan.ts cuts each band's scan where its last MCU ends.
 */
export interface Segment {
  marker: number;
  payload: Buffer;
}

const u16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const segment = (marker: number, payload: Buffer): Buffer => Buffer.concat([Buffer.from([0xff, marker]), u16(payload.length + 2), payload]);

/** The marker segments before the scan, and the entropy-coded data up to EOI. */
export function splitJpeg(jpeg: Buffer): { segments: Segment[]; scan: Buffer } {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG (no SOI)');
  const segments: Segment[] = [];
  for (let i = 2; i + 4 <= jpeg.length; ) {
    if (jpeg[i] !== 0xff) throw new Error(`no marker at byte ${i}`);
    const marker = jpeg[i + 1]!;
    const len = jpeg.readUInt16BE(i + 2);
    segments.push({ marker, payload: jpeg.subarray(i + 4, i + 2 + len) });
    i += 2 + len;
    if (marker === 0xda) {
      if (jpeg[jpeg.length - 2] !== 0xff || jpeg[jpeg.length - 1] !== 0xd9) throw new Error('no EOI at the end');
      return { segments, scan: jpeg.subarray(i, jpeg.length - 2) };
    }
  }
  throw new Error('no SOS');
}

/** The COM segment's text (T.81 §B.2.4.5), or undefined: walks the marker segments up to SOS. */
export function jpegComment(jpeg: Buffer): string | undefined {
  try {
    const com = splitJpeg(jpeg).segments.find((s) => s.marker === 0xfe);
    return com?.payload.toString('latin1');
  } catch {
    return undefined;
  }
}

export interface Rgba {
  width: number;
  height: number;
  /** 4 bytes a pixel, rows top to bottom; alpha is ignored. */
  data: Uint8Array;
}

/** One jpeg-js call. */
export function encodeJpeg(img: Rgba, quality: number, comment?: string): Buffer {
  const out = jpegJs.encode({ width: img.width, height: img.height, data: img.data, ...(comment !== undefined && { comments: [comment] }) }, quality);
  return out.data;
}

export interface BandedEncoder {
  readonly bandHeight: number;
  readonly bands: number;
  /** The entropy-coded interval of band `i`: `rgba` holds that band's rows only. */
  encodeBand(i: number, rgba: Uint8Array): Buffer;
  /** The whole picture from one interval per band, with `comment` in a COM segment. */
  assemble(intervals: readonly Buffer[], comment: string): Buffer;
}

/**
 * Bands of `bandHeight` rows (a multiple of 8, the MCU height), the last one shorter if `height`
 * is not a multiple of it (a shorter final interval is allowed: T.81 §B.2.4.4).
 */
export function createBandedEncoder(o: { width: number; height: number; bandHeight: number; quality: number }): BandedEncoder {
  if (o.width % 8 !== 0 || o.bandHeight % 8 !== 0) throw new RangeError('width and bandHeight must be multiples of 8');
  const bands = Math.ceil(o.height / o.bandHeight);
  const mcusPerInterval = (o.width / 8) * (o.bandHeight / 8);
  if (mcusPerInterval > 0xffff) throw new RangeError('a band holds more MCUs than a restart interval can count');
  let head: Segment[] | undefined; // APP0, DQT, SOF0, DHT, SOS as jpeg-js writes them
  let layout: ReturnType<typeof mcuLayout> | undefined;

  const rowsOf = (i: number): number => Math.min(o.bandHeight, o.height - i * o.bandHeight);

  return {
    bandHeight: o.bandHeight,
    bands,
    encodeBand(i, rgba) {
      const height = rowsOf(i);
      if (rgba.length !== o.width * height * 4) throw new RangeError(`band ${i} needs ${o.width}×${height} RGBA pixels`);
      const { segments, scan } = splitJpeg(encodeJpeg({ width: o.width, height, data: rgba }, o.quality));
      head ??= segments.filter((s) => s.marker !== 0xfe && (s.marker < 0xe1 || s.marker > 0xef)); // no COM, no APP1..15
      layout ??= mcuLayout(segments);
      return trimScan(scan, layout, (o.width / 8) * Math.ceil(height / 8));
    },
    assemble(intervals, comment) {
      if (!head) throw new Error('encode a band first');
      if (intervals.length !== bands) throw new RangeError(`${bands} intervals needed, got ${intervals.length}`);
      const parts: Buffer[] = [Buffer.from([0xff, 0xd8])];
      for (const s of head) {
        if (s.marker === 0xda) {
          parts.push(segment(0xdd, u16(mcusPerInterval))); // DRI
        }
        if (s.marker === 0xc0) {
          // SOF0: P, Y (lines), X, ...: the band's height becomes the picture's.
          const sof = Buffer.from(s.payload);
          sof.writeUInt16BE(o.height, 1);
          parts.push(segment(0xc0, sof));
          continue;
        }
        parts.push(segment(s.marker, s.payload));
        if (s.marker === 0xe0) parts.push(segment(0xfe, Buffer.from(comment.slice(0, 1000), 'latin1'))); // COM after JFIF's APP0
      }
      intervals.forEach((scan, i) => {
        parts.push(scan);
        if (i < intervals.length - 1) parts.push(Buffer.from([0xff, 0xd0 + (i % 8)])); // RST0..RST7, in turn
      });
      parts.push(Buffer.from([0xff, 0xd9]));
      return Buffer.concat(parts);
    },
  };
}
