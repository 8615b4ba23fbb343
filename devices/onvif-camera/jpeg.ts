/**
 * A tiny but valid baseline JPEG (ITU-T T.81 / JFIF 1.01) built in code for the simulator's snapshot:
 * one 8×8 grey block whose shade changes with the time, and the time itself in a COM segment (T.81
 * §B.2.4.5). Drawing digits would need a real encoder; the COM text is what tests read back.
 *
 * Layout: SOI, APP0 "JFIF", COM, DQT (all ones), SOF0 8×8 one component, DHT DC and AC tables with one
 * symbol each (code "0"), SOS, entropy data, EOI. The DC table has one symbol per size category it
 * needs, so the scan is one DC difference then EOB.
 */
const u16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const segment = (marker: number, payload: Buffer): Buffer => Buffer.concat([Buffer.from([0xff, marker]), u16(payload.length + 2), payload]);

/** Bits MSB first, padded with 1s, 0xFF bytes stuffed with 0x00 (T.81 §F.1.2.3). */
function packBits(bits: string): Buffer {
  const padded = bits.padEnd(Math.ceil(bits.length / 8) * 8, '1');
  const out: number[] = [];
  for (let i = 0; i < padded.length; i += 8) {
    const byte = parseInt(padded.slice(i, i + 8), 2);
    out.push(byte);
    if (byte === 0xff) out.push(0x00);
  }
  return Buffer.from(out);
}

export function makeJpeg(comment: string, shade = 0): Buffer {
  // DC difference in category 4 (magnitude 8..15, T.81 Table F.1): shade 0..7 → value 8..15 → +/- grey.
  const dcValue = 8 + (Math.abs(Math.trunc(shade)) % 8);
  const dcBits = dcValue.toString(2).padStart(4, '0');
  const counts = (n: number): Buffer => Buffer.from([1, ...new Array<number>(15).fill(0)].map((v, i) => (i === 0 ? n : v)));
  const jfif = Buffer.from([0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
  const dqt = Buffer.concat([Buffer.from([0x00]), Buffer.alloc(64, 1)]);
  const sof0 = Buffer.from([8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
  const dhtDc = Buffer.concat([Buffer.from([0x00]), counts(1), Buffer.from([4])]); // one code "0" → category 4
  const dhtAc = Buffer.concat([Buffer.from([0x10]), counts(1), Buffer.from([0x00])]); // one code "0" → EOB
  const sos = Buffer.from([1, 1, 0x00, 0, 63, 0]);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, jfif),
    segment(0xfe, Buffer.from(comment.slice(0, 1000), 'latin1')),
    segment(0xdb, dqt),
    segment(0xc0, sof0),
    segment(0xc4, dhtDc),
    segment(0xc4, dhtAc),
    segment(0xda, sos),
    packBits(`0${dcBits}0`),
    Buffer.from([0xff, 0xd9]),
  ]);
}

/** The COM segment's text, or undefined: walks the marker segments up to SOS. */
export function jpegComment(jpeg: Buffer): string | undefined {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return undefined;
  for (let i = 2; i + 4 <= jpeg.length && jpeg[i] === 0xff; ) {
    const marker = jpeg[i + 1] as number;
    const len = jpeg.readUInt16BE(i + 2);
    if (marker === 0xfe) return jpeg.subarray(i + 4, i + 2 + len).toString('latin1');
    if (marker === 0xda) return undefined;
    i += 2 + len;
  }
  return undefined;
}
