import type { Segment } from './jpeg.js';

/**
 * Ends an entropy-coded segment exactly where its last MCU ends, padded with 1-bits to the byte
 * (ITU-T T.81 §F.1.2.3), as a restart interval must be before its RSTm marker.
 *
 * Why: jpeg-js always pads the end of its scan with 1 to 8 one-bits, so a scan whose data ends on a
 * byte boundary gets a whole extra 0xFF byte (stuffed as FF 00). Before EOI that is harmless; before
 * an RST marker it is a byte of data too many, which a strict decoder refuses (jpeg-js's own) and
 * libjpeg reports as "extraneous bytes before marker". Whether the last 0xFF is padding or data
 * cannot be told from the bytes, so the scan is walked with its Huffman tables (T.81 Annex F.2.2:
 * DC difference category then magnitude bits; AC run/size codes up to EOB or the 63rd coefficient)
 * to find the bit where the last MCU ends. A 4 KiB band takes well under a millisecond.
 */
interface Table {
  maxcode: Int32Array; // per code length 1..16; -1: no code of that length
  mincode: Int32Array;
  valptr: Int32Array;
  values: Uint8Array;
}

/** Canonical Huffman decoding tables from a DHT's counts and values (T.81 Annex C and F.2.2.3). */
function buildTable(counts: Uint8Array, values: Uint8Array): Table {
  const t: Table = { maxcode: new Int32Array(17).fill(-1), mincode: new Int32Array(17), valptr: new Int32Array(17), values };
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1]!;
    if (n > 0) {
      t.valptr[len] = k;
      t.mincode[len] = code;
      code += n;
      k += n;
      t.maxcode[len] = code - 1;
    }
    code <<= 1;
  }
  return t;
}

/** Every Huffman table of the DHT segments, keyed "dc0", "ac1", ... */
function tablesOf(segments: readonly Segment[]): Map<string, Table> {
  const out = new Map<string, Table>();
  for (const s of segments.filter((x) => x.marker === 0xc4)) {
    for (let i = 0; i < s.payload.length; ) {
      const tcth = s.payload[i]!;
      const counts = s.payload.subarray(i + 1, i + 17);
      const total = counts.reduce((a, b) => a + b, 0);
      out.set(`${tcth >> 4 ? 'ac' : 'dc'}${tcth & 0x0f}`, buildTable(counts, s.payload.subarray(i + 17, i + 17 + total)));
      i += 17 + total;
    }
  }
  return out;
}

/** The (DC, AC) tables of each block of an MCU, in order: from SOF0 (sampling) and SOS (tables). */
export function mcuLayout(segments: readonly Segment[]): Array<[Table, Table]> {
  const tables = tablesOf(segments);
  const sof = segments.find((s) => s.marker === 0xc0)?.payload;
  const sos = segments.find((s) => s.marker === 0xda)?.payload;
  if (!sof || !sos) throw new Error('no SOF0 or SOS');
  const blocksOf = new Map<number, number>();
  for (let c = 0; c < sof[5]!; c++) blocksOf.set(sof[6 + c * 3]!, (sof[7 + c * 3]! >> 4) * (sof[7 + c * 3]! & 0x0f));
  const layout: Array<[Table, Table]> = [];
  for (let c = 0; c < sos[0]!; c++) {
    const id = sos[1 + c * 2]!;
    const tdta = sos[2 + c * 2]!;
    const dc = tables.get(`dc${tdta >> 4}`);
    const ac = tables.get(`ac${tdta & 0x0f}`);
    if (!dc || !ac) throw new Error(`no Huffman table for component ${id}`);
    for (let b = 0; b < (blocksOf.get(id) ?? 1); b++) layout.push([dc, ac]);
  }
  return layout;
}

/** `scan` (stuffed, as in the file) cut after `mcus` MCUs and padded with ones; stuffed again. */
export function trimScan(scan: Buffer, layout: ReadonlyArray<[Table, Table]>, mcus: number): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < scan.length; i++) {
    bytes.push(scan[i]!);
    if (scan[i] === 0xff) i += 1; // FF 00: the 00 is stuffing
  }
  let pos = 0;
  const bit = (): number => {
    const byte = bytes[pos >> 3];
    if (byte === undefined) throw new Error('scan ends inside an MCU');
    return (byte >> (7 - (pos++ & 7))) & 1;
  };
  const decode = (t: Table): number => {
    let code = bit();
    let len = 1;
    while (len <= 16 && code > t.maxcode[len]!) {
      code = (code << 1) | bit();
      len += 1;
    }
    if (len > 16) throw new Error('bad Huffman code');
    return t.values[t.valptr[len]! + code - t.mincode[len]!]!;
  };
  for (let m = 0; m < mcus; m++) {
    for (const [dc, ac] of layout) {
      // (Read the code first: `pos += decode(..)` would add to the position from before the code.)
      const size = decode(dc);
      pos += size; // the DC difference's magnitude bits
      for (let k = 1; k < 64; ) {
        const rs = decode(ac);
        if (rs === 0x00) break; // EOB
        k += (rs >> 4) + 1; // a run of zeros, then one coefficient (0xF0 = 16 zeros)
        pos += rs & 0x0f;
      }
    }
  }
  const out: number[] = [];
  const whole = pos >> 3;
  for (let i = 0; i < whole; i++) out.push(bytes[i]!);
  if (pos & 7) out.push((bytes[whole]! | (0xff >> (pos & 7))) & 0xff);
  const stuffed: number[] = [];
  for (const b of out) {
    stuffed.push(b);
    if (b === 0xff) stuffed.push(0x00);
  }
  return Buffer.from(stuffed);
}
