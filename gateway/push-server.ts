import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../lib/log.js';
import type { PushHandler, PushRequest, PushResponse, PushRoutes } from '../devices/types.js';

/**
 * The gateway's device-facing HTTP listener. Devices on the estate LAN (access gates, ANPR cameras)
 * push their events here; push-style drivers register a path prefix and get whole, size-capped bodies.
 *
 * Every request is bounded twice: by bytes (`maxBodyBytes`, checked against Content-Length and again
 * while streaming, nothing past the cap is kept) and by time (`requestTimeoutMs`, a total deadline
 * from the request head to the response, so a device trickling one byte a second cannot hold a
 * socket forever; an idle timeout would not catch that).
 */
export interface PushServerOptions {
  host: string;
  /** 0 picks a free port; `address()` tells which one after `start()`. */
  port: number;
  /** Largest accepted request body. Default 2 MiB (an ISAPI event with a face picture is ~100 KiB). */
  maxBodyBytes?: number | undefined;
  /** Total deadline of one request, head to response. Default 10 s. */
  requestTimeoutMs?: number | undefined;
  log: Logger;
}

export interface PushServer {
  routes: PushRoutes;
  start(): Promise<void>;
  stop(): Promise<void>;
  address(): { host: string; port: number };
}

export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/**
 * After a 404 or 413 the device may still be sending. The answer goes out with a FIN, reading stops
 * (what the device sends next waits in the socket buffers, nothing is read or kept) and the socket
 * is cut this long after: closing at once with unread bytes sends a reset, and a reset that reaches
 * the device before it read the answer throws the answer away.
 */
const LINGER_MS = 1_000;

/** Why the listener itself refused a request (the handlers report their own reasons). */
export type PushRejectReason =
  | 'not-found'
  | 'bad-path'
  | 'too-large'
  | 'timeout'
  | 'handler-error'
  | 'client-error'
  | 'client-aborted';

function normalisePrefix(prefix: string): string {
  if (!prefix.startsWith('/') || prefix.includes('?') || prefix.includes('#')) {
    throw new TypeError(`push route prefix must be a path starting with "/": ${JSON.stringify(prefix)}`);
  }
  return prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

export function createPushServer(opts: PushServerOptions): PushServer {
  const { log } = opts;
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const deadlineMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const table = new Map<string, PushHandler>();
  let bound: { host: string; port: number } | undefined;

  const routes: PushRoutes = {
    register(prefix, handler) {
      const key = normalisePrefix(prefix);
      if (table.has(key)) throw new Error(`push route ${key} is already registered`);
      table.set(key, handler);
      log.debug({ prefix: key }, 'push route registered');
    },
    unregister(prefix) {
      table.delete(normalisePrefix(prefix));
    },
  };

  /** Longest registered prefix that equals the path or is followed in it by "/". */
  function match(path: string): PushHandler | undefined {
    let best: string | undefined;
    for (const prefix of table.keys()) {
      const hit = prefix === '/' || path === prefix || path.startsWith(`${prefix}/`);
      if (hit && (best === undefined || prefix.length > best.length)) best = prefix;
    }
    return best === undefined ? undefined : table.get(best);
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = Date.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const meta = { method: req.method, path: path.slice(0, 200), remote: req.socket.remoteAddress };
    let done = false;

    function reply(status: number, body: string, close = false, contentType = 'text/plain; charset=utf-8'): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (res.headersSent || res.destroyed) return;
      res.statusCode = status;
      res.setHeader('content-type', contentType);
      if (close) res.setHeader('connection', 'close');
      res.end(body);
    }
    function reject(status: number, reason: PushRejectReason, detail: Record<string, unknown> = {}): void {
      log.warn({ ...meta, status, reason, ...detail }, `push request rejected: ${reason}`);
      reply(status, `${reason}\n`, true);
    }
    /**
     * Refuse while the device may still be sending: a lingering close (see LINGER_MS). The answer is
     * written on the socket itself, since Node's response would cut the connection as soon as it is
     * flushed (with `connection: close` it destroys the socket on finish).
     */
    function refuse(status: number, reason: PushRejectReason, detail: Record<string, unknown> = {}): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      log.warn({ ...meta, status, reason, ...detail }, `push request rejected: ${reason}`);
      const socket = req.socket;
      req.removeAllListeners('data');
      req.pause(); // no more reads for this request: the parser stops the socket once it is full
      socket.pause();
      const body = `${reason}\n`;
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    }

    // Total deadline: counts from the request head, whatever the client does with the body.
    const timer = setTimeout(() => {
      if (done) return;
      const phase = req.complete ? 'handler' : 'body';
      reject(phase === 'body' ? 408 : 503, 'timeout', { phase, elapsedMs: Date.now() - started });
      // A client still trickling bytes does not get to keep the socket once it has its answer.
      if (res.writableEnded) res.once('finish', () => req.socket.destroy());
      else req.socket.destroy();
    }, deadlineMs);

    if (!path.startsWith('/')) return reject(400, 'bad-path');
    const handler = match(path);
    if (!handler) return refuse(404, 'not-found');

    const declared = Number(req.headers['content-length'] ?? 0);
    if (Number.isFinite(declared) && declared > maxBodyBytes) return refuse(413, 'too-large', { declared, maxBodyBytes });

    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        chunks.length = 0; // drop what was kept; nothing past the cap is buffered
        refuse(413, 'too-large', { received: size, maxBodyBytes });
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      // The device hung up mid-body: nothing to answer, nothing kept.
      if (!done) log.warn({ ...meta, reason: 'client-aborted', err: err.message }, 'push request rejected: client-aborted');
      done = true;
      clearTimeout(timer);
    });
    req.on('end', () => {
      if (done) return;
      const pushReq: PushRequest = {
        method: req.method ?? 'GET',
        path,
        query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
        headers: req.headers,
        remoteAddress: req.socket.remoteAddress,
        body: Buffer.concat(chunks, size),
      };
      void run(handler, pushReq);
    });

    async function run(h: PushHandler, pushReq: PushRequest): Promise<void> {
      let out: PushResponse;
      try {
        out = await h(pushReq);
      } catch (err) {
        // A driver bug must cost one request, never the listener.
        log.error({ ...meta, err }, 'push handler failed');
        reply(500, 'handler-error\n');
        return;
      }
      reply(out.status, out.body ?? '', false, out.contentType ?? 'text/plain; charset=utf-8');
    }
  }

  const server = createServer(
    {
      // Backstops for what happens before a request reaches `onRequest` (slow headers).
      headersTimeout: Math.min(deadlineMs, 60_000),
      requestTimeout: deadlineMs + 1_000,
      connectionsCheckingInterval: Math.min(1_000, deadlineMs),
    },
    onRequest,
  );
  // "Expect: 100-continue" (curl and some firmware for larger bodies): invite the body only when it
  // will be read, so a client with an oversize or misrouted post does not send it at all.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (Number(req.headers['content-length'] ?? 0) <= maxBodyBytes && match(path)) res.writeContinue();
    onRequest(req, res);
  });
  // Malformed requests and slow headers never reach `onRequest`; answer them like Node would, but log.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    log.warn({ reason: 'client-error', code: err.code, err: err.message }, 'push request rejected: client-error');
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });

  return {
    routes,
    address: () => bound ?? { host: opts.host, port: opts.port },
    start() {
      return new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen(opts.port, opts.host, () => {
          server.off('error', onError);
          const addr = server.address() as AddressInfo;
          bound = { host: addr.address, port: addr.port };
          log.info({ ...bound, maxBodyBytes, requestTimeoutMs: deadlineMs }, 'push listener started');
          resolve();
        });
      });
    },
    stop() {
      if (!server.listening) return Promise.resolve();
      return new Promise<void>((resolve) => {
        // Idle keep-alive sockets go now; requests in flight get up to one deadline to finish.
        const force = setTimeout(() => server.closeAllConnections(), deadlineMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          log.info('push listener stopped');
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
