import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { Id } from '../../protocol/ids.js';
import { VIDEO_QUALITIES, type VideoErrorCode, type ViewerMessage } from '../../protocol/video.js';
import { inScope } from '../api/user-auth.js';
import { actorOf, type Principal, type Principals } from '../people/principals.js';
import type { VideoMetrics } from './metrics.js';
import type { Refusal, Streams, ViewerSink } from './streams.js';

/** The viewer sends one small text message; nothing bigger is read. */
export const VIEWER_MAX_PAYLOAD = 16 * 1024;
/** The `watch` message must come within this time after the upgrade. */
export const WATCH_TIMEOUT_MS = 5_000;

const Watch = z.object({ t: z.literal('watch'), token: z.string().min(1).max(8192), estate: Id, device: Id, quality: z.enum(VIDEO_QUALITIES) });

export interface ViewerDeps {
  wss: WebSocketServer;
  principals: Pick<Principals, 'fromToken'>;
  streams: Streams;
  metrics: VideoMetrics;
  /** The gateway of a camera of `estate` (null: no such camera, or not a camera). */
  cameraGateway(estate: string, device: string): Promise<string | null>;
  /** In a cluster: the other node that holds the gateway's relay link, or null (hub/video/relays.ts). */
  holderOf?(estate: string, gateway: string): Promise<string | null>;
  log: Logger;
}

/**
 * `GET /api/v1/video/live`: a viewer's socket. The first text message `{t:'watch', token, estate,
 * device, quality}` within 5 s; the token is checked like the REST API's; a camera outside the
 * viewer's scope answers RB_ERR_NOT_FOUND, like one that does not exist.
 */
export function createViewerEndpoint(deps: ViewerDeps) {
  const { wss, principals, streams, metrics, log } = deps;
  /** Watching sockets: ended on a sign-out of their user, or when their token expires. */
  const watching = new Map<WebSocket, { userId: string | null; end(why: Refusal): void }>();

  const sinkOf = (ws: WebSocket, actor: string): ViewerSink => ({
    actor,
    sendJson: (msg: ViewerMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
    },
    sendBinary: (bytes) => {
      if (ws.readyState === ws.OPEN) ws.send(bytes, { binary: true });
    },
    buffered: () => ws.bufferedAmount,
    close: (code, reason) => ws.close(code, reason),
  });

  function refuse(ws: WebSocket, code: VideoErrorCode, message: string): void {
    metrics.refusals.inc({ code });
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ t: 'error', code, message } satisfies ViewerMessage));
    ws.close(1000, code);
  }

  /** The other node holding the gateway's relay (a viewer that landed on the wrong node), or null. */
  async function whereElse(estate: string, gateway: string): Promise<string | null> {
    try {
      return (await deps.holderOf?.(estate, gateway)) ?? null;
    } catch (err) {
      log.warn({ err, estate, gateway }, 'video viewer: relay registry unreadable');
      return null;
    }
  }

  async function begin(ws: WebSocket, raw: unknown): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(String(raw));
    } catch {
      return refuse(ws, 'RB_ERR_UNAUTHENTICATED', 'the first message must be {t:"watch", token, estate, device, quality}');
    }
    const token = (json as { token?: unknown } | null)?.token;
    if (typeof token !== 'string' || token === '') return refuse(ws, 'RB_ERR_UNAUTHENTICATED', 'an access token is required');
    let p: Principal;
    try {
      p = await principals.fromToken(token);
    } catch {
      return refuse(ws, 'RB_ERR_UNAUTHENTICATED', 'the access token is missing, expired or revoked');
    }
    const w = Watch.safeParse(json);
    if (!w.success) return refuse(ws, 'RB_ERR_NOT_FOUND', 'no such camera (estate, device and quality main|sub are required)');
    const { estate, device, quality } = w.data;
    const gateway = inScope(p, estate) ? await deps.cameraGateway(estate, device) : null;
    if (!gateway) return refuse(ws, 'RB_ERR_NOT_FOUND', `no camera ${device} in estate ${estate}`);
    if (ws.readyState !== ws.OPEN) return;
    const got = streams.watch(sinkOf(ws, actorOf(p)), { estate, gateway, device, quality });
    if (!('leave' in got)) {
      const elsewhere = got.code === 'RB_ERR_GATEWAY_OFFLINE' ? await whereElse(estate, gateway) : null;
      const msg: ViewerMessage = elsewhere
        ? { t: 'error', code: got.code, message: `gateway ${gateway}'s relay link is on hub node ${elsewhere}, not this one: watch through /api/v1/video/live?node=${elsewhere}`, node: elsewhere }
        : { t: 'error', code: got.code, message: got.message };
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
      ws.close(1000, got.code);
      return;
    }
    let expiry: NodeJS.Timeout | undefined;
    if (p.expiresAt !== undefined) {
      expiry = setTimeout(() => got.end({ code: 'RB_ERR_UNAUTHENTICATED', message: 'the access token expired; watch again with a fresh one' }), Math.max(0, p.expiresAt - Date.now()));
      expiry.unref();
    }
    watching.set(ws, { userId: p.kind === 'user' ? p.id : null, end: got.end });
    ws.on('close', () => {
      clearTimeout(expiry);
      watching.delete(ws);
      got.leave();
    });
    log.debug({ actor: actorOf(p), estate, device, quality }, 'video viewer watching');
  }

  return {
    upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      wss.handleUpgrade(req, socket, head, (ws) => {
        // 'connection' is what starts the keep-alive (index.ts): without it the first ping round dropped the view.
        wss.emit('connection', ws, req);
        ws.on('error', (err) => log.debug({ err }, 'video viewer socket error'));
        const timer = setTimeout(() => refuse(ws, 'RB_ERR_UNAUTHENTICATED', `no watch message within ${WATCH_TIMEOUT_MS / 1000} s`), WATCH_TIMEOUT_MS);
        timer.unref();
        ws.once('message', (data, isBinary) => {
          clearTimeout(timer);
          if (isBinary) return refuse(ws, 'RB_ERR_UNAUTHENTICATED', 'the first message must be a text {t:"watch", …}');
          begin(ws, Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8')).catch((err: unknown) => {
            log.error({ err }, 'video viewer: watch failed');
            refuse(ws, 'RB_ERR_UNAVAILABLE', 'the hub could not start the view; retry');
          });
        });
        ws.on('close', () => clearTimeout(timer));
      });
    },
    /** A user signed out everywhere (password change, disabled): their views end. */
    signedOut(userId: string): void {
      for (const w of [...watching.values()]) if (w.userId === userId) w.end({ code: 'RB_ERR_UNAUTHENTICATED', message: 'signed out' });
    },
  };
}
