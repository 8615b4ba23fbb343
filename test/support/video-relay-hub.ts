import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeRelayFrame, type RelayError, type RelayOpened, type RelayToGateway, type RelayToHub } from '../../protocol/video.js';

/**
 * The hub end of the video relay link, as docs/video.md says it, for the gateway's tests: a `ws`
 * server at /api/v1/video/relay that takes only the gateway's HTTP Basic login, and records what
 * the gateway sends (JSON text frames, and binary relay frames decoded with protocol/video.ts).
 */
export interface RelayHubEnd {
  httpUrl: string;
  /** Upgrades refused (wrong path or login). */
  refused: number;
  /** Connections the gateway made so far. */
  connections: number;
  /** Everything the gateway sent, in order: text as parsed JSON, binary as decoded frames. */
  messages: Array<{ n: number; text?: RelayToHub; frame?: { kind: number; sid: string; segment: Buffer } }>;
  /** Something that is not a well-formed relay frame or JSON (a protocol violation). */
  violations: string[];
  send(msg: RelayToGateway | string | Record<string, unknown>): void;
  /** Drop the gateway's link (as a hub restart would). */
  drop(): void;
  /** Stop / start reading the gateway's link (a hub that falls behind: the gateway's send buffer grows). */
  pause(): void;
  resume(): void;
  /** Resolves with the first recorded message (after index `from`) matching `ok`. */
  waitFor<T extends RelayHubEnd['messages'][number]>(ok: (m: RelayHubEnd['messages'][number]) => m is T, timeoutMs?: number, from?: number): Promise<T>;
  waitFor(ok: (m: RelayHubEnd['messages'][number]) => boolean, timeoutMs?: number, from?: number): Promise<RelayHubEnd['messages'][number]>;
  /** Binary frames recorded for `sid`. */
  frames(sid: string): Array<{ kind: number; segment: Buffer }>;
  /** Media segments recorded for `sid` so far. */
  media(sid: string): number;
  /** Waits for `opened` of `sid` (after message index `from`); an `error` for it instead fails at once with its words. */
  opened(sid: string, timeoutMs?: number, from?: number): Promise<RelayOpened>;
  /** Waits for the `error` of `sid`. */
  errorOf(sid: string, timeoutMs?: number): Promise<RelayError>;
  close(): Promise<void>;
}

const ofSid = (sid: string, ...types: string[]) => (m: RelayHubEnd['messages'][number]): boolean => types.includes(m.text?.t ?? '') && (m.text as { sid?: string }).sid === sid;

export async function startRelayHubEnd(login: { username: string; password: string }): Promise<RelayHubEnd> {
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true });
  const expected = `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}`;
  let current: WebSocket | undefined;
  let n = 0;
  const waiters = new Set<() => void>();
  const end: RelayHubEnd = {
    httpUrl: '',
    refused: 0,
    connections: 0,
    messages: [],
    violations: [],
    send(msg) {
      current?.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
    },
    drop() {
      current?.terminate();
    },
    pause: () => current?.pause(),
    resume: () => current?.resume(),
    waitFor(ok: (m: RelayHubEnd['messages'][number]) => boolean, timeoutMs = 10_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = end.messages.slice(from).find(ok);
          if (!m) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(m);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such relay message within ${timeoutMs} ms; got ${JSON.stringify(end.messages.slice(from).map((m) => m.text ?? { frame: m.frame?.kind, sid: m.frame?.sid }).slice(-20))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    frames: (sid) => end.messages.flatMap((m) => (m.frame?.sid === sid ? [{ kind: m.frame.kind, segment: m.frame.segment }] : [])),
    media: (sid) => end.frames(sid).filter((f) => f.kind === 2).length,
    async opened(sid, timeoutMs = 10_000, from = 0) {
      const m = await end.waitFor(ofSid(sid, 'opened', 'error'), timeoutMs, from);
      if (m.text?.t === 'error') throw new Error(`stream ${sid} did not open: ${JSON.stringify(m.text)}`);
      return m.text as RelayOpened;
    },
    errorOf: async (sid, timeoutMs = 10_000) => (await end.waitFor(ofSid(sid, 'error'), timeoutMs)).text as RelayError,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  } as RelayHubEnd;
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    if (req.url !== '/api/v1/video/relay' || req.headers.authorization !== expected) {
      end.refused++;
      socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      end.connections++;
      current = ws;
      ws.on('message', (data: Buffer, isBinary) => {
        if (isBinary) {
          const f = decodeRelayFrame(data);
          if (!f) end.violations.push(`bad binary frame of ${data.length} bytes`);
          else end.messages.push({ n: n++, frame: { kind: f.kind, sid: f.sid, segment: Buffer.from(f.segment) } });
        } else {
          try {
            end.messages.push({ n: n++, text: JSON.parse(data.toString('utf8')) as RelayToHub });
          } catch {
            end.violations.push(`text frame that is not JSON: ${data.toString('utf8').slice(0, 100)}`);
          }
        }
        for (const w of [...waiters]) w();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  end.httpUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return end;
}
