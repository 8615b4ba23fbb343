import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { Id } from '../../protocol/ids.js';
import { PTZ_PRESET_NAME_MAX, PTZ_PRESETS_MAX, VIDEO_QUALITIES, type RelayToGateway, type VideoErrorCode } from '../../protocol/video.js';
import type { GatewayIdentity, Registry } from '../registry.js';
import type { VideoMetrics } from './metrics.js';
import type { HeldLink } from './relays.js';
import type { RelayLink, Streams } from './streams.js';

/** The largest frame a relay link may send: a segment up to 16 MiB (the gateway's video.maxSegmentBytes) and its header. */
export const RELAY_MAX_PAYLOAD = 16 * 1024 * 1024 + 64;

const CODES = ['RB_ERR_UNAUTHENTICATED', 'RB_ERR_NOT_FOUND', 'RB_ERR_GATEWAY_OFFLINE', 'RB_ERR_CAMERA_UNREACHABLE', 'RB_ERR_VIDEO_CAP', 'RB_ERR_VIDEO_BROKEN', 'RB_ERR_UNAVAILABLE'] as const satisfies readonly VideoErrorCode[];
const Sid = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/);
const Dim = z.number().int().min(1).max(16_384).optional();

/** A PTZ preset (docs/video.md): the token `ptz.preset` takes (1–64 printable ASCII, like the command's bound) and its name. */
const Preset = z.object({ token: z.string().regex(/^[\x21-\x7e]{1,64}$/), name: z.string().min(1).refine((n) => [...n].length <= PTZ_PRESET_NAME_MAX, 'name too long') });
/** A relay `hello` as the hub accepts it (exported for tests); anything else is dropped as malformed. */
export const RelayHelloSchema = z.object({
  t: z.literal('hello'),
  version: z.string().max(64),
  cameras: z
    .array(
      z.object({
        device: Id,
        ptz: z.boolean(),
        profiles: z.array(z.object({ quality: z.enum(VIDEO_QUALITIES), width: Dim, height: Dim })).max(8),
        presets: z.array(Preset).max(PTZ_PRESETS_MAX).optional(),
      }),
    )
    .max(2000),
});
const Opened = z.object({ t: z.literal('opened'), sid: Sid, mime: z.string().min(1).max(200), width: Dim, height: Dim });
const ErrorMsg = z.object({ t: z.literal('error'), sid: Sid, code: z.string().max(64), message: z.string().max(2000) });
const FromGateway = z.discriminatedUnion('t', [RelayHelloSchema, Opened, ErrorMsg]);

/** `Authorization: Basic …` → username and password, as gatewayAuth (hub/api/auth.ts) reads it. */
export function basicCredentials(header: string | undefined): { username: string; password: string } | null {
  const m = /^Basic ([A-Za-z0-9+/=]{1,400})$/.exec(header ?? '');
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  return colon > 0 ? { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) } : null;
}

/** Answer an upgrade request with a plain HTTP error and drop the socket. */
export function refuseUpgrade(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code, message } });
  const reason = status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : status === 503 ? 'Service Unavailable' : 'Bad Request';
  const head = [`HTTP/1.1 ${status} ${reason}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  socket.on('error', () => undefined);
  setTimeout(() => socket.destroy(), 1000).unref();
}

export interface RelayDeps {
  wss: WebSocketServer;
  registry: Pick<Registry, 'authenticate'>;
  streams: Streams;
  metrics: VideoMetrics;
  log: Logger;
  /** A link came up, said hello, dropped (the cluster's relay registry, hub/video/relays.ts). */
  events?: { up(l: HeldLink): void; hello(l: HeldLink): void; down(l: HeldLink): void };
}

/**
 * `GET /api/v1/video/relay`: a gateway's link, HTTP Basic with its MQTT credentials checked before the
 * upgrade completes (401 otherwise). One link per gateway: a newer one replaces the older.
 * Socket.IO (engine.io) ends any other path's upgrade socket that has written nothing after 1 s: a
 * first check (scrypt) slower than that under load drops the attempt; the gateway's retry then hits
 * the registry's credential cache.
 */
export function createRelayEndpoint(deps: RelayDeps) {
  const { wss, registry, streams, metrics, log } = deps;

  function attach(ws: WebSocket, who: GatewayIdentity): void {
    let open = true;
    const link: RelayLink = {
      estate: who.estate,
      gateway: who.gateway,
      send(msg: RelayToGateway) {
        if (open && ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
      },
      close(code, reason) {
        ws.close(code, reason);
      },
    };
    const held: HeldLink = { estate: who.estate, gateway: who.gateway, id: randomBytes(12).toString('base64url') };
    streams.linkUp(link);
    deps.events?.up(held);
    log.info({ estate: who.estate, gateway: who.gateway }, 'video relay link up');
    ws.on('message', (data, isBinary) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) return streams.frame(link, buf);
      let parsed: z.infer<typeof FromGateway>;
      try {
        const r = FromGateway.safeParse(JSON.parse(buf.toString('utf8')));
        if (!r.success) return void metrics.dropped.inc({ reason: 'malformed' });
        parsed = r.data;
      } catch {
        return void metrics.dropped.inc({ reason: 'malformed' });
      }
      if (parsed.t === 'hello') {
        link.hello = parsed;
        held.hello = parsed;
        deps.events?.hello(held);
        log.info({ estate: who.estate, gateway: who.gateway, version: parsed.version, cameras: parsed.cameras.length }, 'video relay hello');
      } else if (parsed.t === 'opened') {
        streams.opened(link, parsed);
      } else {
        const code = (CODES as readonly string[]).includes(parsed.code) ? (parsed.code as VideoErrorCode) : 'RB_ERR_CAMERA_UNREACHABLE';
        streams.relayError(link, { sid: parsed.sid, code, message: parsed.message.slice(0, 300) });
      }
    });
    ws.on('error', (err) => log.debug({ err, estate: who.estate, gateway: who.gateway }, 'video relay link error'));
    ws.on('close', () => {
      open = false;
      streams.linkDown(link);
      deps.events?.down(held);
      log.info({ estate: who.estate, gateway: who.gateway }, 'video relay link down');
    });
  }

  return {
    upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      const creds = basicCredentials(req.headers.authorization);
      const unauthorized = (message: string) => refuseUpgrade(socket, 401, 'RB_ERR_UNAUTHENTICATED', message, { 'WWW-Authenticate': 'Basic realm="red-butler"' });
      if (!creds) return unauthorized('gateway credentials required (HTTP Basic)');
      registry
        .authenticate(creds.username, creds.password)
        .then((who) => {
          if (!who) return unauthorized('bad gateway username or password');
          if (socket.destroyed) return;
          wss.handleUpgrade(req, socket, head, (ws) => {
            // 'connection' is what starts the keep-alive (index.ts): without it the first ping round dropped the link.
            wss.emit('connection', ws, req);
            attach(ws, who);
          });
        })
        .catch((err: unknown) => {
          log.error({ err }, 'video relay: credential check failed');
          refuseUpgrade(socket, 503, 'RB_ERR_UNAVAILABLE', 'credential check failed; retry');
        });
    },
  };
}
