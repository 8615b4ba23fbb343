import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AcceptedRequest, FailureMode, FakeProvider } from '../../hub/notify/channel-conformance.js';

/**
 * The plumbing every local provider server shares: a real HTTP server on 127.0.0.1 (a free port
 * the kernel picks), whole request bodies, the FakeProvider bookkeeping (accepted, refused, queued
 * failure modes) and a close that also drops the connections it left hanging on purpose ("timeout").
 */
export interface Received {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  raw: Buffer;
}

export interface Answer {
  status: number;
  body: unknown;
}

export interface ProviderServer extends FakeProvider {
  readonly url: string;
  readonly port: number;
  /** Requests received, whatever became of them. */
  readonly received: Received[];
  close(): Promise<void>;
}

/**
 * Decides the answer to a request the network-level failures did not take; pushes to accepted or
 * refused as it goes; `takeFailure()` hands it a queued "rate-limited" to answer after the
 * signature check, as the provider does.
 */
export type Handler = (req: Received, book: { accepted: AcceptedRequest[]; refused: string[]; takeFailure(): FailureMode | undefined }) => Answer;

export async function startProviderServer(handle: Handler, answers: { serverError: () => Answer }): Promise<ProviderServer> {
  const accepted: AcceptedRequest[] = [];
  const refused: string[] = [];
  const received: Received[] = [];
  const queue: FailureMode[] = [];
  const sockets = new Set<Socket>();
  const takeFailure = (): FailureMode | undefined => queue.shift();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', url: new URL(req.url ?? '/', 'http://127.0.0.1'), headers: req.headers, raw: Buffer.concat(chunks) };
      received.push(r);
      // The network-level failures come first, as a gateway's would.
      const mode = queue[0];
      if (mode === 'timeout') {
        queue.shift();
        return; // never answered; closed with the server
      }
      if (mode === 'server-error') {
        queue.shift();
        return send(res, answers.serverError());
      }
      send(res, handle(r, { accepted, refused, takeFailure }));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  const port = address.port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    accepted,
    refused,
    received,
    failNext(mode: FailureMode, n = 1) {
      for (let i = 0; i < n; i++) queue.push(mode);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, a: Answer): void {
  const text = typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
  res.writeHead(a.status, { 'content-type': typeof a.body === 'string' ? 'text/html' : 'application/json;charset=utf-8' });
  res.end(text);
}
