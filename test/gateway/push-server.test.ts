import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPushServer, type PushServer } from '../../gateway/push-server.js';
import type { PushRequest } from '../../devices/types.js';
import { silentLogger } from '../../lib/log.js';

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One request on its own connection (no keep-alive, so every test sees a fresh socket). */
function call(
  port: number,
  path: string,
  opts: { method?: string; body?: Buffer | string; headers?: Record<string, string>; chunks?: Buffer[] } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'POST', agent: false, headers: opts.headers },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), headers: res.headers }));
      },
    );
    req.on('error', reject);
    if (opts.chunks) {
      for (const c of opts.chunks) req.write(c);
      req.end();
    } else req.end(opts.body);
  });
}

describe('push server', () => {
  let server: PushServer;
  let port: number;
  let seen: PushRequest[];

  beforeEach(async () => {
    seen = [];
    server = createPushServer({ host: '127.0.0.1', port: 0, maxBodyBytes: 1024, requestTimeoutMs: 500, log: silentLogger() });
    server.routes.register('/isapi', async (req) => {
      seen.push(req);
      return { status: 200, body: `isapi ${req.path}` };
    });
    server.routes.register('/isapi/gate-1/', async (req) => {
      seen.push(req);
      return { status: 200, contentType: 'application/json', body: JSON.stringify({ size: req.body.length }) };
    });
    server.routes.register('/boom', async () => {
      throw new Error('driver bug');
    });
    server.routes.register('/slow', () => new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), 2_000)));
    await server.start();
    port = server.address().port;
  });

  afterEach(async () => {
    await server.stop();
  });

  it('reports the real port after starting on port 0', () => {
    expect(port).toBeGreaterThan(0);
    expect(server.address().host).toBe('127.0.0.1');
  });

  it('routes by the longest matching prefix, only on whole path segments', async () => {
    expect((await call(port, '/isapi/gate-1', { body: 'abc' })).body).toBe('{"size":3}');
    expect((await call(port, '/isapi/gate-1/extra?x=1', { body: 'abcd' })).body).toBe('{"size":4}');
    expect((await call(port, '/isapi/gate-10')).body).toBe('isapi /isapi/gate-10');
    expect((await call(port, '/isapi')).body).toBe('isapi /isapi');
    expect((await call(port, '/isapix')).status).toBe(404);
  });

  it('hands the handler method, path, query, headers, remote address and body', async () => {
    await call(port, '/isapi/gate-1/ev?format=json&a=b', { body: '{"x":1}', headers: { 'content-type': 'application/json' } });
    const req = seen[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/isapi/gate-1/ev');
    expect(req.query.get('format')).toBe('json');
    expect(req.query.get('a')).toBe('b');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.remoteAddress).toMatch(/127\.0\.0\.1$/);
    expect(req.body.toString()).toBe('{"x":1}');
  });

  it('answers 404 for an unknown path and keeps serving', async () => {
    const res = await call(port, '/nothing/here', { body: 'x' });
    expect(res.status).toBe(404);
    expect(res.body).toBe('not-found\n');
    expect((await call(port, '/isapi/gate-1', { body: 'ok' })).status).toBe(200);
  });

  it('refuses a body whose Content-Length is over the cap with 413, before reading it', async () => {
    const res = await call(port, '/isapi/gate-1', { body: Buffer.alloc(2048, 0x61) });
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect(seen).toHaveLength(0);
    expect((await call(port, '/isapi/gate-1', { body: 'ok' })).status).toBe(200);
  });

  it('refuses a chunked body with 413 as soon as the streamed bytes pass the cap', async () => {
    // No Content-Length: only counting the bytes as they arrive can catch it.
    const res = await call(port, '/isapi/gate-1', {
      headers: { 'transfer-encoding': 'chunked' },
      chunks: [Buffer.alloc(700, 0x61), Buffer.alloc(700, 0x62)],
    });
    expect(res.status).toBe(413);
    expect(seen).toHaveLength(0);
    // Exactly at the cap is fine.
    expect((await call(port, '/isapi/gate-1', { body: Buffer.alloc(1024, 0x61) })).body).toBe('{"size":1024}');
  });

  it('a device that keeps sending and reads late still gets its 413 (lingering close, not a reset)', async () => {
    // The device writes 8 MiB as fast as the socket takes it and only reads its socket after 300 ms.
    // Cutting the connection as soon as the 413 is flushed makes the device's next write fail
    // (EPIPE/ECONNRESET) before it ever reads the answer.
    const answer = await new Promise<{ text: string; ms: number }>((resolve) => {
      const started = Date.now();
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.pause();
      setTimeout(() => socket.resume(), 300);
      socket.on('data', (d: Buffer) => void (text += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ text, ms: Date.now() - started }));
      socket.on('connect', () => {
        socket.write('POST /isapi/gate-1 HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n');
        const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 0x61), Buffer.from('\r\n')]);
        let left = 128;
        const pump = (): void => {
          while (left > 0 && !socket.destroyed) {
            left -= 1;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
        };
        pump();
      });
    });
    expect(answer.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.text).toMatch(/connection: close/i);
    expect(answer.ms).toBeGreaterThanOrEqual(300);
    expect(seen).toHaveLength(0);
  });

  it('does not invite an oversize body with 100 Continue', async () => {
    const { status, continued } = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const headers = { expect: '100-continue', 'content-length': '5000' };
      const req = request({ host: '127.0.0.1', port, path: '/isapi/gate-1', method: 'POST', agent: false, headers });
      req.on('continue', () => {
        continued = true;
        req.end(Buffer.alloc(5000));
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, continued });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(status).toBe(413);
    expect(continued).toBe(false);
  });

  it('turns a handler exception into 500 and keeps serving', async () => {
    const res = await call(port, '/boom', { body: 'x' });
    expect(res.status).toBe(500);
    expect(res.body).toBe('handler-error\n');
    expect((await call(port, '/isapi/gate-1', { body: 'ok' })).status).toBe(200);
  });

  it('answers 503 when a handler outlives the deadline', async () => {
    const res = await call(port, '/slow', { body: 'x' });
    expect(res.status).toBe(503);
    expect(res.body).toBe('timeout\n');
  });

  it('cuts a request that trickles one byte at a time at the total deadline with 408', async () => {
    const started = Date.now();
    const { text, elapsed } = await new Promise<{ text: string; elapsed: number }>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      let drip: NodeJS.Timeout | undefined;
      socket.on('connect', () => {
        socket.write('POST /isapi/gate-1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n');
        // Always a byte in flight, so an idle timeout would never fire; only a total deadline does.
        drip = setInterval(() => socket.writable && socket.write('a'), 100);
      });
      socket.on('data', (d) => (text += d.toString()));
      socket.on('error', () => undefined); // the server resets the drip; the close below is what counts
      socket.on('close', () => {
        clearInterval(drip);
        resolve({ text, elapsed: Date.now() - started });
      });
      setTimeout(() => reject(new Error('socket was never closed')), 5_000);
    });
    expect(text.startsWith('HTTP/1.1 408')).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(2_000);
    expect(seen).toHaveLength(0);
    expect((await call(port, '/isapi/gate-1', { body: 'ok' })).status).toBe(200);
  });

  it('answers a malformed HTTP request with 400 and keeps serving', async () => {
    const text = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let out = '';
      socket.on('data', (d) => (out += d.toString()));
      socket.on('close', () => resolve(out));
      socket.on('error', () => undefined);
    });
    expect(text.startsWith('HTTP/1.1 400')).toBe(true);
    expect((await call(port, '/isapi/gate-1', { body: 'ok' })).status).toBe(200);
  });

  it('stops routing a prefix after unregister, and refuses a duplicate or relative prefix', async () => {
    expect(() => server.routes.register('/isapi', async () => ({ status: 200 }))).toThrow(/already registered/);
    expect(() => server.routes.register('isapi', async () => ({ status: 200 }))).toThrow(/starting with/);
    server.routes.unregister('/isapi/gate-1');
    expect((await call(port, '/isapi/gate-1')).body).toBe('isapi /isapi/gate-1');
  });

  it('stops listening on stop()', async () => {
    await server.stop();
    await expect(call(port, '/isapi/gate-1')).rejects.toThrow(/ECONNREFUSED/);
    await server.stop(); // idempotent; afterEach calls it again
  });
});
