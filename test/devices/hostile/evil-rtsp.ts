import { execFileSync, spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * A hostile RTSP camera on 127.0.0.1, for the gateway's video tests: just enough RTSP 1.0 (RFC 2326:
 * OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN; GET_PARAMETER answered as a keep-alive) to stream real
 * H.264 over TCP-interleaved RTP (RFC 2326 §10.12) packetised per RFC 6184 (single NAL units, FU-A),
 * at 25 frames a second, and then misbehave as its mode says. The pictures are real: a few seconds of
 * `testsrc2` encoded once by Debian's ffmpeg with libx264 (`h264Sample`), played in a loop.
 * Everything big is generated on the fly from one reused padding buffer and written with
 * backpressure, so the memory measured around a case is the gateway's, not this server's.
 */
export interface EvilRtspOptions {
  /** Put the parameter sets in the SDP (`sprop-parameter-sets`, as ONVIF cameras do). Default true. */
  sprop?: boolean;
  /** The session starts at this frame of the loop (0 = a key frame; 1 = just after one: joining mid-GOP). */
  startFrame?: number;
  /** After this many frames, one access unit of `hugeBytes` (a P slice padded out), then the stream goes on. */
  hugeAfter?: number;
  hugeBytes?: number;
  /** After this many frames, `garbageBytes` of random bytes on the connection instead of RTP, then nothing. */
  garbageAfter?: number;
  garbageBytes?: number;
}

export interface EvilRtsp {
  uri: string;
  port: number;
  /** PLAY requests answered so far (one per RTSP session that got as far as streaming). */
  plays(): number;
  /** Connections open now. */
  connections(): number;
  /** Bytes of the huge access unit written to the socket so far (all sessions). */
  hugeWritten(): number;
  stop(): Promise<void>;
}

export type Pattern = 'testsrc' | 'testsrc2';

export interface H264Sample {
  sps: Buffer;
  pps: Buffer;
  /** Access units in decoding order, slices only (SPS/PPS are added before each IDR when sent). */
  frames: Array<{ key: boolean; nals: Buffer[] }>;
  width: number;
  height: number;
}

const FPS = 25;
const TS_PER_FRAME = 90_000 / FPS;
/** RTP payload per packet, as a camera on a 1500-byte MTU would; ffmpeg drops interleaved packets over 8 KiB. */
const MAX_PAYLOAD = 1_400;
/** Interleaved packets gathered into one socket write. */
const BATCH = 64 * 1024;
const PAD = Buffer.alloc(64 * 1024, 0xa5); // no 00 00 in it: no start code can be read into the padding

/**
 * Encode `seconds` of a moving test picture once with Debian's ffmpeg and libx264 (one slice per frame,
 * no B frames, a key frame every second). `testsrc2` is busy (~8 KB a frame at 640×360), `testsrc` calm (~1 KB).
 */
export function h264Sample(width = 640, height = 360, seconds = 2, pattern: Pattern = 'testsrc2'): H264Sample {
  const annexB = execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `${pattern}=size=${width}x${height}:rate=${FPS}`,
    '-frames:v', String(seconds * FPS), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-threads', '1',
    '-g', String(FPS), '-bf', '0', '-bsf:v', 'h264_mp4toannexb', '-f', 'h264', 'pipe:1',
  ], { maxBuffer: 64 * 1024 * 1024 });
  let sps: Buffer | undefined;
  let pps: Buffer | undefined;
  const frames: H264Sample['frames'] = [];
  for (const nal of splitAnnexB(annexB)) {
    const type = nal[0]! & 0x1f;
    if (type === 7) sps ??= nal;
    else if (type === 8) pps ??= nal;
    else if (type === 5 || type === 1) frames.push({ key: type === 5, nals: [nal] });
    // SEI (x264's banner) and AUDs are left out.
  }
  if (!sps || !pps || !frames[0]?.key) throw new Error('ffmpeg did not give an H.264 stream with SPS, PPS and a key frame first');
  return { sps, pps, frames, width, height };
}

/** NAL units of an Annex B byte stream (ITU-T H.264 Annex B: 00 00 01 or 00 00 00 01 before each; trailing zeros dropped). */
export function splitAnnexB(b: Buffer): Buffer[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1) starts.push((i += 2) + 1);
  return starts.map((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1]! - 3 : b.length;
    while (end > s && b[end - 1] === 0) end--;
    return b.subarray(s, end);
  });
}

export async function startEvilRtsp(sample: H264Sample, opts: EvilRtspOptions = {}): Promise<EvilRtsp> {
  const sockets = new Set<Socket>();
  let plays = 0;
  let huge = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    const session = serve(socket, sample, opts, {
      played: () => plays++,
      huge: (n) => (huge += n),
    });
    socket.on('close', () => {
      sockets.delete(socket);
      session.stop();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    uri: `rtsp://127.0.0.1:${port}/s`,
    port,
    plays: () => plays,
    connections: () => sockets.size,
    hugeWritten: () => huge,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One RTSP connection: answer requests; after PLAY, stream frames on a 40 ms clock. */
function serve(socket: Socket, sample: H264Sample, opts: EvilRtspOptions, count: { played(): void; huge(n: number): void }): { stop(): void } {
  const base = `rtsp://127.0.0.1:${socket.localPort}/s/`;
  const ssrc = 0x5eed0001;
  let input: Buffer = Buffer.alloc(0);
  let clock: NodeJS.Timeout | undefined;
  let stopped = false;
  let sending = false;
  let frame = opts.startFrame ?? 0;
  let sent = 0;
  let seq = 0;
  let ts = 0;
  let batch: Buffer[] = [];
  let batched = 0;

  const reply = (cseq: string, headers: Record<string, string | number> = {}, body = ''): void => {
    const lines = ['RTSP/1.0 200 OK', `CSeq: ${cseq}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  };
  const sdp = (): string => {
    const sprop = opts.sprop === false ? '' : `;sprop-parameter-sets=${sample.sps.toString('base64')},${sample.pps.toString('base64')}`;
    return [
      'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=evil camera', 'c=IN IP4 0.0.0.0', 't=0 0',
      'm=video 0 RTP/AVP 96', 'a=rtpmap:96 H264/90000',
      `a=fmtp:96 packetization-mode=1;profile-level-id=${sample.sps.subarray(1, 4).toString('hex')}${sprop}`,
      'a=control:track1', '',
    ].join('\r\n');
  };

  socket.on('data', (chunk: Buffer) => {
    input = input.length ? Buffer.concat([input, chunk]) : chunk;
    for (;;) {
      if (input.length > 0 && input[0] === 0x24) {
        // RTCP from the client, interleaved ($, channel, length): skipped.
        if (input.length < 4) return;
        const len = 4 + input.readUInt16BE(2);
        if (input.length < len) return;
        input = input.subarray(len);
        continue;
      }
      const end = input.indexOf('\r\n\r\n');
      if (end < 0) {
        if (input.length > 16_384) socket.destroy();
        return;
      }
      const head = input.subarray(0, end).toString('latin1');
      const length = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0);
      if (input.length < end + 4 + length) return;
      input = input.subarray(end + 4 + length);
      request(head);
    }
  });

  function request(head: string): void {
    const method = head.slice(0, head.indexOf(' '));
    const cseq = /^cseq:\s*(\S+)/im.exec(head)?.[1] ?? '0';
    const session = { Session: '5eed0001;timeout=60' };
    if (method === 'OPTIONS') return reply(cseq, { Public: 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER' });
    if (method === 'DESCRIBE') return reply(cseq, { 'Content-Base': base, 'Content-Type': 'application/sdp' }, sdp());
    if (method === 'SETUP') return reply(cseq, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1', ...session });
    if (method === 'GET_PARAMETER') return reply(cseq, session);
    if (method === 'PLAY') {
      reply(cseq, { ...session, Range: 'npt=0.000-', 'RTP-Info': `url=${base}track1;seq=0;rtptime=0` });
      count.played();
      clock ??= setInterval(() => void tick(), 1_000 / FPS);
      return;
    }
    if (method === 'TEARDOWN') {
      reply(cseq, session);
      return void socket.end();
    }
    socket.write(`RTSP/1.0 501 Not Implemented\r\nCSeq: ${cseq}\r\n\r\n`);
  }

  /** One frame per tick; a frame still being written (the huge one) holds the clock back. */
  async function tick(): Promise<void> {
    if (sending || stopped) return;
    sending = true;
    try {
      if (opts.garbageAfter !== undefined && sent === opts.garbageAfter) {
        clearInterval(clock);
        const n = opts.garbageBytes ?? 256 * 1024;
        for (let i = 0; i < n && !stopped; i += BATCH) await write(randomish(Math.min(BATCH, n - i)));
        return;
      }
      if (opts.hugeAfter !== undefined && sent === opts.hugeAfter) await sendHuge(opts.hugeBytes ?? 50 * 1024 * 1024);
      const f = sample.frames[frame % sample.frames.length]!;
      const nals = f.key ? [sample.sps, sample.pps, ...f.nals] : f.nals;
      for (let i = 0; i < nals.length; i++) await sendNal(nals[i]!, i === nals.length - 1);
      await flush();
      frame++;
      sent++;
      ts += TS_PER_FRAME;
    } finally {
      sending = false;
    }
  }

  /** A P slice of the sample padded out to `bytes`: one access unit that ffmpeg copies without decoding. */
  async function sendHuge(bytes: number): Promise<void> {
    const slice = sample.frames.find((f) => !f.key)!.nals[0]!;
    let left = bytes - slice.length;
    const parts = function* (): Generator<Buffer> {
      yield slice;
      while (left > 0) {
        const n = Math.min(left, PAD.length);
        left -= n;
        yield PAD.subarray(0, n);
      }
    };
    await sendFragmented(slice[0]!, parts(), true, count.huge);
    await flush();
    ts += TS_PER_FRAME;
  }

  async function sendNal(nal: Buffer, last: boolean): Promise<void> {
    if (nal.length <= MAX_PAYLOAD) return queue(rtp(nal, last));
    await sendFragmented(nal[0]!, [nal], last);
  }

  /**
   * FU-A (RFC 6184 §5.8): the NAL header's F and NRI in the indicator with type 28, S/E bits and the
   * NAL type in the FU header, then the NAL's bytes after its header, cut to MAX_PAYLOAD.
   */
  async function sendFragmented(header: number, parts: Iterable<Buffer>, last: boolean, onBytes?: (n: number) => void): Promise<void> {
    const indicator = (header & 0xe0) | 28;
    const type = header & 0x1f;
    let first = true;
    let carry: Buffer = Buffer.alloc(0);
    let skipHeader = true;
    const emit = async (payload: Buffer, end: boolean): Promise<void> => {
      const fu = Buffer.from([indicator, (first ? 0x80 : 0) | (end ? 0x40 : 0) | type]);
      first = false;
      await queue(rtp(Buffer.concat([fu, payload]), end && last));
      onBytes?.(payload.length);
    };
    for (const part of parts) {
      let p = skipHeader ? part.subarray(1) : part;
      skipHeader = false;
      if (carry.length) {
        p = Buffer.concat([carry, p]);
        carry = Buffer.alloc(0);
      }
      for (; p.length > MAX_PAYLOAD; p = p.subarray(MAX_PAYLOAD)) {
        if (stopped) return;
        await emit(p.subarray(0, MAX_PAYLOAD), false);
      }
      carry = p;
    }
    await emit(carry, true);
  }

  /** RTP (RFC 3550 §5.1) version 2, payload type 96, marker on the last packet of an access unit; framed for channel 0. */
  function rtp(payload: Buffer, marker: boolean): Buffer {
    const b = Buffer.allocUnsafe(4 + 12 + payload.length);
    b[0] = 0x24;
    b[1] = 0;
    b.writeUInt16BE(12 + payload.length, 2);
    b[4] = 0x80;
    b[5] = (marker ? 0x80 : 0) | 96;
    b.writeUInt16BE(seq++ & 0xffff, 6);
    b.writeUInt32BE(ts >>> 0, 8);
    b.writeUInt32BE(ssrc, 12);
    payload.copy(b, 16);
    return b;
  }

  async function queue(packet: Buffer): Promise<void> {
    batch.push(packet);
    batched += packet.length;
    if (batched >= BATCH) await flush();
  }

  async function flush(): Promise<void> {
    if (!batched) return;
    const b = Buffer.concat(batch, batched);
    batch = [];
    batched = 0;
    await write(b);
  }

  function write(b: Buffer): Promise<void> {
    if (stopped || socket.destroyed) return Promise.resolve();
    if (socket.write(b)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  return {
    stop() {
      stopped = true;
      clearInterval(clock);
    },
  };
}

/** Bytes that are neither RTP framing nor an RTSP reply (no '$', no "RTSP/"), cheaply varied. */
function randomish(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const v = x & 0xff;
    b[i] = v === 0x24 ? 0x25 : v;
  }
  return b;
}

/**
 * The same server in a child process (node with tsx), so a measurement of this process (RSS, event
 * loop) sees only the gateway: the 50 MB the camera writes are another process's work.
 */
export async function spawnEvilRtsp(opts: EvilRtspOptions = {}, pattern: Pattern = 'testsrc2'): Promise<EvilRtsp> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, JSON.stringify(opts), pattern], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2_000)));
  const state = { port: 0, plays: 0, connections: 0, huge: 0 };
  let out = '';
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      Object.assign(state, JSON.parse(line) as Partial<typeof state>);
      if (state.port) ready();
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([isReady, exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
  if (!state.port) {
    child.kill('SIGKILL');
    throw new Error(`the evil RTSP server did not start: ${stderr}`);
  }
  return {
    uri: `rtsp://127.0.0.1:${state.port}/s`,
    port: state.port,
    plays: () => state.plays,
    connections: () => state.connections,
    hugeWritten: () => state.huge,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const MAIN = fileURLToPath(new URL('./evil-rtsp-main.ts', import.meta.url));
