/**
 * Fragmented MP4 as ffmpeg writes it (`-movflags empty_moov+default_base_moof+frag_keyframe`), read
 * only as far as the video relay needs (docs/video.md): top-level box boundaries, to cut the byte
 * stream into the init segment (`ftyp` + `moov`) and media segments (`moof` + `mdat`), and the `avcC`
 * box, for the codec string MediaSource wants. Nothing here writes a box.
 */

/** What the splitter hands out. */
export type Fmp4Segment = { kind: 'init'; bytes: Buffer } | { kind: 'media'; bytes: Buffer };

export class Fmp4Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Fmp4Error';
  }
}

const fourcc = (b: Buffer, at: number): string => b.toString('latin1', at, at + 4);
const PRINTABLE = /^[a-z0-9 ]{4}$/i;

/**
 * Cut a byte stream into segments, incrementally: `push(chunk)` returns the segments completed by it.
 * A box over `maxBoxBytes`, a malformed header, or media before the init segment throws Fmp4Error
 * (the caller stops the stream): memory stays bounded by `maxBoxBytes` plus one chunk.
 */
export function fmp4Splitter(maxBoxBytes: number): { push(chunk: Buffer): Fmp4Segment[]; buffered(): number } {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Boxes of the segment being gathered (init: ftyp… up to moov; media: moof up to mdat). */
  let parts: Buffer[] = [];
  let sawInit = false;

  const take = (n: number): Buffer => {
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    const box = all.subarray(0, n);
    const rest = all.subarray(n);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
    return Buffer.from(box);
  };
  /** The box at the head of the stream, once known (its header is read once, not on every chunk). */
  let next: { size: number; type: string } | null = null;
  const header = (): { size: number; type: string } | null => {
    if (next) return next;
    if (pendingBytes < 8) return null;
    // Only the first 16 bytes are needed: join just enough leading chunks, never the whole backlog.
    if (pending[0]!.length < 16 && pending.length > 1) {
      let n = 0;
      let k = 0;
      while (k < pending.length && n < 16) n += pending[k++]!.length;
      pending = [Buffer.concat(pending.slice(0, k)), ...pending.slice(k)];
    }
    const head = pending[0]!;
    let size = head.readUInt32BE(0);
    const type = fourcc(head, 4);
    if (!PRINTABLE.test(type)) throw new Fmp4Error(`not an MP4 box (type bytes ${head.subarray(4, 8).toString('hex')})`);
    if (size === 1) {
      if (head.length < 16) return null;
      const big = head.readBigUInt64BE(8);
      if (big > BigInt(maxBoxBytes)) throw new Fmp4Error(`box ${type} of ${big} bytes is over the cap of ${maxBoxBytes}`);
      size = Number(big);
    } else if (size === 0) {
      throw new Fmp4Error(`box ${type} runs to the end of the stream (size 0): not a fragmented stream`);
    }
    if (size < 8) throw new Fmp4Error(`box ${type} has a bad size ${size}`);
    if (size > maxBoxBytes) throw new Fmp4Error(`box ${type} of ${size} bytes is over the cap of ${maxBoxBytes}`);
    return (next = { size, type });
  };

  return {
    push(chunk) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      const out: Fmp4Segment[] = [];
      for (;;) {
        const h = header();
        if (!h || pendingBytes < h.size) break;
        const box = take(h.size);
        next = null;
        if (!sawInit) {
          parts.push(box);
          if (h.type === 'moov') {
            out.push({ kind: 'init', bytes: Buffer.concat(parts) });
            parts = [];
            sawInit = true;
          } else if (h.type === 'moof' || h.type === 'mdat') {
            throw new Fmp4Error(`media (${h.type}) before the init segment`);
          }
          continue;
        }
        if (h.type === 'moof') {
          parts = [box];
        } else if (h.type === 'mdat') {
          if (parts.length === 0) throw new Fmp4Error('mdat without its moof');
          parts.push(box);
          out.push({ kind: 'media', bytes: Buffer.concat(parts) });
          parts = [];
        } else if (parts.length > 0) {
          parts.push(box); // e.g. a prft or sidx between moof and mdat: kept with the segment
        }
        // Boxes between segments (styp, sidx, mfra at the end) are not needed by MSE: dropped.
      }
      return out;
    },
    buffered: () => pendingBytes + parts.reduce((n, p) => n + p.length, 0),
  };
}

/** Containers on the way from `moov` to `avcC`; `avc1`/`avc3` are sample entries with 78 bytes before their children. */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']);

/** Find the first `avcC` box in an init segment; its payload (the AVCDecoderConfigurationRecord), or null. */
export function findAvcC(init: Buffer): Buffer | null {
  const walk = (from: number, to: number, depth: number): Buffer | null => {
    let at = from;
    while (at + 8 <= to && depth < 10) {
      const size = init.readUInt32BE(at);
      const type = fourcc(init, at + 4);
      if (size < 8 || at + size > to) return null;
      if (type === 'avcC') return init.subarray(at + 8, at + size);
      if (CONTAINERS.has(type)) {
        const r = walk(at + 8, at + size, depth + 1);
        if (r) return r;
      } else if (type === 'stsd') {
        const r = walk(at + 16, at + size, depth + 1); // version/flags + entry count
        if (r) return r;
      } else if (type === 'avc1' || type === 'avc3') {
        const r = walk(at + 8 + 78, at + size, depth + 1);
        if (r) return r;
      }
      at += size;
    }
    return null;
  };
  return walk(0, init.length, 0);
}

/**
 * The MediaSource type of an H.264 init segment, e.g. `video/mp4; codecs="avc1.64001f"` (RFC 6381:
 * profile, constraint flags and level from the avcC record), or null when it carries no H.264.
 */
export function avcMime(init: Buffer): string | null {
  const c = findAvcC(init);
  if (!c || c.length < 4 || c[0] !== 1) return null;
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `video/mp4; codecs="avc1.${hex(c[1]!)}${hex(c[2]!)}${hex(c[3]!)}"`;
}
