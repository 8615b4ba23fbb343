import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AcceptedRequest, FailureMode, FakeProvider } from '../../hub/notify/channel-conformance.js';

/**
 * The shared skeleton of the local provider servers (test/support/providers/*.ts): a real HTTP server
 * on 127.0.0.1 at a port the kernel picks, the request parsed as the provider would see it, and the
 * conformance suite's failure switches. Each provider module supplies the handler that checks the
 * request exactly as its documentation says and the provider's own answers for each failure mode.
 */

export interface FakeRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  raw: Buffer;
  /** The body parsed as JSON, or undefined. */
  json: unknown;
}

export interface FakeAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface FakeHooks {
  /** Answer one request that was not failed on purpose. */
  handle(req: FakeRequest): FakeAnswer | Promise<FakeAnswer>;
  /** The provider's documented answer for a forced 'server-error' or 'rate-limited'. */
  failure(mode: Exclude<FailureMode, 'timeout'>, req: FakeRequest): FakeAnswer;
}

export class HttpFake implements FakeProvider {
  readonly accepted: AcceptedRequest[] = [];
  readonly refused: string[] = [];
  /** Every request that reached the server, in order (for tests that look at the wire). */
  readonly requests: FakeRequest[] = [];
  private readonly queue: FailureMode[] = [];
  private readonly canned: FakeAnswer[] = [];
  private readonly held = new Set<ServerResponse>();
  private server?: Server;
  baseUrl = '';

  constructor(private readonly hooks: FakeHooks) {}

  failNext(mode: FailureMode, n = 1): void {
    for (let i = 0; i < n; i++) this.queue.push(mode);
  }

  /** Answer the next request with exactly this (a documented error body the suite has no mode for). */
  answerNext(answer: FakeAnswer): void {
    this.canned.push(answer);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.onRequest(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve());
    });
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.held.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    let json: unknown;
    try {
      json = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
    } catch {
      json = undefined;
    }
    const fr: FakeRequest = { method: req.method ?? 'GET', url: new URL(req.url ?? '/', 'http://127.0.0.1'), headers: req.headers, raw, json };
    this.requests.push(fr);
    const mode = this.queue.shift();
    if (mode === 'timeout') {
      // Never answer: the client must give up when its signal aborts.
      this.held.add(res);
      res.on('close', () => this.held.delete(res));
      return;
    }
    let answer: FakeAnswer;
    try {
      answer = mode ? this.hooks.failure(mode, fr) : (this.canned.shift() ?? (await this.hooks.handle(fr)));
    } catch (err) {
      answer = { status: 500, body: { error: String(err) } };
    }
    const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    res.writeHead(answer.status, { 'content-type': typeof answer.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8', ...answer.headers });
    res.end(body);
  }
}

/** A sliding one-minute window: the provider's documented per-minute limit, enforced as it would be. */
export class MinuteWindow {
  private readonly times: number[] = [];
  constructor(private readonly limit: number) {}
  /** Count one request now; false when it is over the limit (and then not counted). */
  take(now = Date.now()): boolean {
    while (this.times.length && now - this.times[0]! >= 60_000) this.times.shift();
    if (this.times.length >= this.limit) return false;
    this.times.push(now);
    return true;
  }
}
