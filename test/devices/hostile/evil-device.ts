import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/**
 * An evil device on 127.0.0.1: an HTTP server that answers whatever it is asked with one hostile
 * answer (`mode`), and a raw HTTP client that posts hostile requests. Everything big is generated on
 * the fly from one reused buffer and written with backpressure: nothing large is ever held here, so
 * the RSS measured around a case is the gateway code's, not the evil device's.
 */
export const MiB = 1024 * 1024;

export type EvilMode =
  /** Status line and headers one byte per `intervalMs` (default 1000). */
  | { kind: 'trickle-headers'; intervalMs?: number }
  /** Headers at once, then the body one byte per `intervalMs` (default 1000). */
  | { kind: 'trickle-body'; intervalMs?: number }
  /** A body of `bytes` (default 200 MiB), declared with Content-Length or chunked. */
  | { kind: 'huge-body'; bytes?: number; declareLength?: boolean }
  /** `depth` (default 100 000) nested elements, streamed. */
  | { kind: 'deep-xml'; depth?: number; contentType?: string }
  /** An external entity (XXE) inside the document element `root`. */
  | { kind: 'xxe'; root: 'ResponseStatus' | 'Envelope' }
  /** Billion laughs: 10 levels of 10 entity references. */
  | { kind: 'billion-laughs'; root: 'ResponseStatus' | 'Envelope' }
  /** One text node of `bytes` characters inside an otherwise plausible answer, streamed. */
  | { kind: 'huge-text'; bytes: number; root: 'ResponseStatus' | 'Envelope'; declareLength?: boolean }
  /** Headers (chunked, no length), then nothing, forever. */
  | { kind: 'hang' }
  /** Any answer, computed from the captured request (a Digest challenge, then a check of the answer). */
  | { kind: 'respond'; fn: (req: Captured) => { status: number; headers?: Record<string, string>; body: string } }
  /** A normal answer; `body` may look at the captured request. */
  | { kind: 'answer'; status?: number; contentType?: string; headers?: Record<string, string>; body: string | ((req: Captured) => string) };

export interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface EvilDevice {
  url: string;
  port: number;
  mode: EvilMode;
  /** Requests received (bodies capped at 1 MiB). */
  captured: Captured[];
  /** Bytes of answer body the device managed to write before the gateway cut it. */
  written(): number;
  stop(): Promise<void>;
}

const CHUNK = 64 * 1024;
const ROOT_OPEN = {
  ResponseStatus: '<ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><statusCode>1</statusCode><statusString>',
  Envelope:
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><tds:GetSystemDateAndTimeResponse xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><tds:X>',
} as const;
const ROOT_CLOSE = {
  ResponseStatus: '</statusString><subStatusCode>ok</subStatusCode></ResponseStatus>',
  Envelope: '</tds:X></tds:GetSystemDateAndTimeResponse></s:Body></s:Envelope>',
} as const;
const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>';

/** `unit` repeated `count` times, as chunks of about 64 KiB that reuse one buffer. */
function* repeat(unit: string, count: number): Generator<Buffer> {
  const perChunk = Math.max(1, Math.floor(CHUNK / Buffer.byteLength(unit)));
  const full = Buffer.from(unit.repeat(perChunk));
  for (let left = count; left > 0; left -= perChunk) yield left >= perChunk ? full : full.subarray(0, left * Buffer.byteLength(unit));
}

export function* deepXml(depth: number): Generator<Buffer> {
  yield Buffer.from(XML_DECL);
  yield* repeat('<a>', depth);
  yield* repeat('</a>', depth);
}

export function xxeXml(root: 'ResponseStatus' | 'Envelope'): string {
  return `${XML_DECL}<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${ROOT_OPEN[root]}&xxe;${ROOT_CLOSE[root]}`;
}

export function billionLaughsXml(root: 'ResponseStatus' | 'Envelope'): string {
  const ents = ['<!ENTITY lol0 "lol">'];
  for (let i = 1; i < 10; i++) ents.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
  return `${XML_DECL}<!DOCTYPE r [${ents.join('')}]>${ROOT_OPEN[root]}&lol9;${ROOT_CLOSE[root]}`;
}

function* hugeText(bytes: number, root: 'ResponseStatus' | 'Envelope'): Generator<Buffer> {
  yield Buffer.from(XML_DECL + ROOT_OPEN[root]);
  yield* repeat('A', bytes);
  yield Buffer.from(ROOT_CLOSE[root]);
}

const hugeTextLength = (bytes: number, root: 'ResponseStatus' | 'Envelope'): number =>
  Buffer.byteLength(XML_DECL + ROOT_OPEN[root] + ROOT_CLOSE[root]) + bytes;

/** Write `chunks` with backpressure; stop as soon as the peer is gone. Resolves with bytes written. */
async function pump(res: ServerResponse, chunks: Iterable<Buffer>, count: (n: number) => void): Promise<void> {
  for (const c of chunks) {
    if (res.destroyed || res.socket?.destroyed !== false) return;
    count(c.length);
    if (!res.write(c)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end();
}

/** Drip `text` one byte per `intervalMs` straight onto the socket, first byte at once. */
function drip(socket: Socket, text: string, intervalMs: number, timers: Set<NodeJS.Timeout>): void {
  let i = 0;
  const tick = (): void => {
    if (socket.destroyed || i >= text.length) {
      clearInterval(timer);
      timers.delete(timer);
      return;
    }
    socket.write(text[i++] as string);
  };
  const timer = setInterval(tick, intervalMs);
  timers.add(timer);
  socket.once('close', () => (clearInterval(timer), timers.delete(timer)));
  tick();
}

export async function startEvilDevice(initial: EvilMode = { kind: 'hang' }): Promise<EvilDevice> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let written = 0;
  const count = (n: number): void => void (written += n);
  const device: EvilDevice = {
    url: '',
    port: 0,
    mode: initial,
    captured: [],
    written: () => written,
    stop: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      if (size < MiB) parts.push(c);
      size += c.length;
    });
    req.on('end', () => {
      const captured: Captured = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(parts) };
      device.captured.push(captured);
      written = 0;
      void answer(device.mode, captured, res);
    });
  });

  async function answer(m: EvilMode, captured: Captured, res: ServerResponse): Promise<void> {
    const xml = 'application/xml; charset="UTF-8"';
    switch (m.kind) {
      case 'trickle-headers':
        drip(res.socket as Socket, `HTTP/1.1 200 OK\r\ncontent-type: ${xml}\r\ncontent-length: 5\r\n\r\n<a/>\n`, m.intervalMs ?? 1000, timers);
        return;
      case 'trickle-body':
        // A small declared length: the byte cap must not be what stops it, only the deadline.
        res.writeHead(200, { 'content-type': xml, 'content-length': 1_000 });
        res.flushHeaders();
        drip(res.socket as Socket, (XML_DECL + ROOT_OPEN.ResponseStatus).padEnd(1_000, 'A'), m.intervalMs ?? 1000, timers);
        return;
      case 'huge-body': {
        const bytes = m.bytes ?? 200 * MiB;
        res.writeHead(200, { 'content-type': 'application/octet-stream', ...(m.declareLength !== false && { 'content-length': bytes }) });
        return pump(res, repeat('x', bytes), count);
      }
      case 'deep-xml':
        res.writeHead(200, { 'content-type': m.contentType ?? xml });
        return pump(res, deepXml(m.depth ?? 100_000), count);
      case 'xxe':
      case 'billion-laughs': {
        const body = m.kind === 'xxe' ? xxeXml(m.root) : billionLaughsXml(m.root);
        res.writeHead(200, { 'content-type': m.root === 'Envelope' ? 'application/soap+xml; charset=utf-8' : xml });
        res.end(body);
        return;
      }
      case 'huge-text': {
        const length = m.declareLength === false ? {} : { 'content-length': hugeTextLength(m.bytes, m.root) };
        res.writeHead(200, { 'content-type': m.root === 'Envelope' ? 'application/soap+xml; charset=utf-8' : xml, ...length });
        return pump(res, hugeText(m.bytes, m.root), count);
      }
      case 'hang':
        res.writeHead(200, { 'content-type': xml });
        res.flushHeaders();
        return;
      case 'respond': {
        const out = m.fn(captured);
        res.writeHead(out.status, { 'content-type': xml, ...out.headers });
        res.end(out.body);
        return;
      }
      case 'answer':
        res.writeHead(m.status ?? 200, { 'content-type': m.contentType ?? xml, ...m.headers });
        res.end(typeof m.body === 'function' ? m.body(captured) : m.body);
        return;
    }
  }

  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  device.port = (server.address() as AddressInfo).port;
  device.url = `http://127.0.0.1:${device.port}`;
  return device;
}

// The other direction: an evil device posting to the gateway's push listener.

export type EvilBody =
  | { kind: 'bytes'; data: Buffer }
  /** One byte of `data` per `intervalMs`, first one at once. */
  | { kind: 'trickle'; data: string; intervalMs: number }
  /** Written as fast as the peer reads, with backpressure, until done or the peer hangs up. */
  | { kind: 'stream'; chunks: Iterable<Buffer> };

export interface RawAnswer {
  /** HTTP status of the answer, if one arrived before the connection went. */
  status: number | undefined;
  text: string;
  /** Body bytes we managed to hand to the socket before it was closed. */
  sent: number;
  ms: number;
}

/**
 * One request on a raw socket: the head as given, then the body. Resolves when the server closes the
 * connection (or `giveUpMs` passes, which the tests treat as a failure).
 */
export function rawRequest(port: number, head: string, body: EvilBody, giveUpMs = 10_000): Promise<RawAnswer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearInterval(timer);
      clearTimeout(giveUp);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : undefined, text, sent, ms: Date.now() - started });
    };
    const giveUp = setTimeout(() => socket.destroy(), giveUpMs);
    socket.on('data', (d: Buffer) => {
      if (text.length < 4096) text += d.toString('latin1');
    });
    socket.on('error', () => undefined); // EPIPE / ECONNRESET when the server cuts us: expected
    socket.on('close', finish);
    socket.on('connect', () => {
      socket.write(head);
      if (body.kind === 'bytes') {
        sent = body.data.length;
        socket.write(body.data);
      } else if (body.kind === 'trickle') {
        let i = 0;
        const tick = (): void => {
          if (socket.destroyed || !socket.writable || i >= body.data.length) return;
          socket.write(body.data[i++] as string);
          sent += 1;
        };
        timer = setInterval(tick, body.intervalMs);
        tick();
      } else {
        void (async () => {
          for (const c of body.chunks) {
            if (socket.destroyed || !socket.writable) return;
            sent += c.length;
            if (!socket.write(c)) {
              await new Promise<void>((r) => {
                const done = (): void => {
                  socket.off('drain', done);
                  socket.off('close', done);
                  r();
                };
                socket.on('drain', done);
                socket.on('close', done);
              });
            }
          }
        })();
      }
    });
  });
}

/** Chunks of about 64 KiB, reusing one buffer: `bytes` of `unit` (default 'x'). */
export const repeated = (bytes: number, unit = 'x'): Iterable<Buffer> => repeat(unit, Math.floor(bytes / Buffer.byteLength(unit)));
