import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import { isId, type GatewayStatus, type RbEvent } from '../../protocol/index.js';
import type { Bus } from '../bus.js';
import type { Metrics } from '../metrics.js';
import type { StateChange } from '../state/types.js';

/** Events the hub pushes to screens and phones. */
export interface ServerToClient {
  event: (event: RbEvent) => void;
  'gateway:status': (status: GatewayStatus) => void;
  /** An incident snapshot was stored for an event of the estate. */
  snapshot: (link: { eventId: string; sha256: string; device: string; camera: string; takenAt: number }) => void;
  /** A live-state change (hub/state): `{estate, kind, key, value, ts}`, coalesced per key. */
  state: (change: StateChange) => void;
}
/** Events clients send. Subscriptions are taken from the handshake for now. */
export type ClientToServer = Record<string, never>;
export interface SocketData {
  estates: string[];
}

export interface PushDeps {
  http: HttpServer;
  bus: Bus;
  metrics: Metrics;
  log: Logger;
}

export interface Push {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Room of everything that happens in one estate. */
export const estateRoom = (estate: string): string => `estate:${estate}`;

/**
 * Live push over Socket.IO. A client names the estates it watches in `handshake.auth.estates` (or the
 * `estate` query parameter) and joins room `estate:{id}` for each; every accepted event goes to its
 * estate's room. Authentication and per-user scopes come with the users issue.
 */
export function createPush(deps: PushDeps): Push {
  const { bus, metrics, log } = deps;
  let io: Server<ClientToServer, ServerToClient, Record<string, never>, SocketData> | undefined;
  const unsubscribe: Array<() => void> = [];

  return {
    async start() {
      io = new Server(deps.http, { serveClient: true, maxHttpBufferSize: 64 * 1024 });
      io.use((socket, next) => {
        const auth = socket.handshake.auth as { estates?: unknown };
        const query = socket.handshake.query.estate;
        const requested = Array.isArray(auth.estates) ? auth.estates : typeof query === 'string' ? query.split(',') : [];
        const estates = requested.filter(isId).slice(0, 100);
        if (estates.length === 0) return next(new Error('name at least one estate id (auth.estates or ?estate=)'));
        socket.data.estates = estates;
        next();
      });
      io.on('connection', (socket) => {
        for (const estate of socket.data.estates) void socket.join(estateRoom(estate));
        log.debug({ id: socket.id, estates: socket.data.estates }, 'socket connected');
      });
      unsubscribe.push(
        bus.on('event', (event) => {
          io?.to(estateRoom(event.estate)).emit('event', event);
          metrics.pushed.inc();
        }),
        bus.on('gateway.status', (status) => {
          io?.to(estateRoom(status.estate)).emit('gateway:status', status);
        }),
        bus.on('state', (change) => {
          io?.to(estateRoom(change.estate)).emit('state', change);
        }),
        bus.on('snapshot', (l) => {
          io?.to(estateRoom(l.estate)).emit('snapshot', { eventId: l.eventId, sha256: l.sha256, device: l.device, camera: l.camera, takenAt: l.takenAt });
        }),
      );
    },
    async stop() {
      for (const off of unsubscribe.splice(0)) off();
      // io.close() would also close the shared HTTP server; the API owns it, so only drop the sockets.
      io?.disconnectSockets(true);
      io?.engine.close();
    },
  };
}
