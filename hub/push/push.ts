import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import { Server } from 'socket.io';
import { isId } from '../../protocol/index.js';
import type { Role } from '../../protocol/api.js';
import type { HandshakeErrorCode } from '../../protocol/errors.js';
import { PUSH_EVENTS, type ClientToServer, type HandshakeAuth, type InterServer, type LivePayloads, type PushEvent, type ServerToClient } from '../../protocol/live.js';
import type { Bus } from '../bus.js';
import type { Metrics } from '../metrics.js';
import type { Transaction } from 'kysely';
import type { Schema } from '../platform/db/index.js';
import type { PushEnvelope, PushLog } from './log.js';
import { createHandover, emitLogged, type SocketData } from './handover.js';
import { createScopeOrder } from './order.js';
import { createPushRelay, type PushRelay } from './relay.js';

export type { Role };

/** Who a socket belongs to, from its token (hub/people). `estates: 'all'` is the hub's own API token. */
export interface PushPrincipal {
  id: string;
  role: Role;
  estates: ReadonlySet<string> | 'all';
  /** Token expiry, ms; the socket is disconnected then (the client reconnects with a fresh token). */
  exp?: number;
}

/** Masked (volunteer, patrol) or full (center, admin) personal data. */
export const seesFullData = (role: Role): boolean => role === 'center' || role === 'admin';

/** Envelope events the hub pushes; each is `{scope, seq, at, data}` (protocol/live.ts, docs/alerts.md "Live push"). */
export { PUSH_EVENTS, type PushEvent };


export interface PushDeps {
  /** Cluster: whether this node owns the estate (hub/cluster): live-state changes are pushed by the owner only. Default: all. */
  owns?: (estate: string) => boolean;
  http: HttpServer;
  bus: Bus;
  metrics: Metrics;
  log: Logger;
  pushLog: PushLog;
  /** Verify `handshake.auth.token`; rejects with an error whose `code` is RB_ERR_UNAUTHENTICATED. */
  verify(token: string): Promise<PushPrincipal>;
  /** Masks personal data for volunteers and patrols (hub/alerts/privacy.ts). */
  mask(event: PushEvent, data: unknown): unknown;
  /** Called when a center/admin socket subscribes to full personal data (audited). */
  onFullView?(principal: PushPrincipal, estates: string[]): void;
  /** Missed messages above which a reconnecting client gets `resync` instead of a replay. */
  maxReplay?: number;
  /** `cluster.redisUrl`: envelopes committed on any node reach the sockets of every node (hub/push/relay.ts). */
  redisUrl?: string | undefined;
}

/** Messages logged inside a transaction (the outbox): committed with it, sent after its COMMIT. */
export interface LiveOutbox {
  toEstate<K extends PushEvent>(estate: string, event: K, data: LivePayloads[K], at?: number): Promise<PushEnvelope<LivePayloads[K]>>;
  toUser<K extends PushEvent>(userId: string, role: Role, event: K, data: LivePayloads[K], at?: number): Promise<PushEnvelope>;
}

export interface Push {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Log a message of an estate (written with the others of a few ms); it is sent, once committed, to every socket that may see it. */
  toEstate<K extends PushEvent>(estate: string, event: K, data: LivePayloads[K], at?: number): void;
  /** Log a message to one user's sockets, masked for the user's role as it is logged; sent once committed. */
  toUser<K extends PushEvent>(userId: string, role: Role, event: K, data: LivePayloads[K], at?: number): void;
  /**
   * The transactional outbox: `fn` writes its rows (an alert transition, its audit entry) in `trx` and
   * logs its messages through `out`; all of it commits at once or not at all, and the messages are
   * sent only after the COMMIT.
   */
  transaction<T>(fn: (trx: Transaction<Schema>, out: LiveOutbox) => Promise<T>): Promise<T>;
  /**
   * Sign a user out of every socket now (password changed, user disabled): `session:revoked` first,
   * then disconnect. Its token is refused from then on, so the client cannot reconnect with it.
   */
  disconnectUser(userId: string, reason: string): number;
  /** Sockets connected now. */
  connections(): number;
}


export const estateScope = (estate: string): string => `estate:${estate}`;
export const userScope = (user: string): string => `user:${user}`;
const fullRoom = (estate: string): string => `estate:${estate}:full`;
const maskedRoom = (estate: string): string => `estate:${estate}:masked`;
const ALL_FULL = 'all:full';

/**
 * Live push over Socket.IO with per-scope sequences and replay from the push log in the hub database (hub/push/log.ts; only committed messages are sent).
 *
 * A socket authenticates with `handshake.auth.token`; it joins, for each estate in its scope (or the
 * subset named in `auth.estates`), a masked or a full room by its role, and its own `user:U` room.
 * A reconnecting client sends `auth.since = {scope: lastSeq}`; everything logged after that is
 * replayed to it, in order, and the live envelopes that arrive meanwhile are buffered and sent after
 * it, so no live message falls between the replay and the live stream, and none comes twice.
 * In a cluster (`redisUrl`) every node gets every committed envelope (hub/push/relay.ts) and emits it
 * to its own sockets only, in sequence per scope (hub/push/order.ts).
 */
export function createPush(deps: PushDeps): Push {
  const { bus, metrics, log, pushLog } = deps;
  const maxReplay = deps.maxReplay ?? 5000;
  let io: Server<ClientToServer, ServerToClient, InterServer, SocketData> | undefined;
  const unsubscribe: Array<() => void> = [];
  const expiryTimers = new Set<NodeJS.Timeout>();
  /** Set by stop(): no new handshake is taken from then on. */
  let stopping = false;
  const replayed = new Counter({ name: 'rb_push_replayed_total', help: 'Logged messages replayed to reconnecting sockets', registers: [metrics.registry] });
  const resyncs = new Counter({ name: 'rb_push_resyncs_total', help: 'Reconnects that missed more than the replay limit (told to reload)', registers: [metrics.registry] });
  const refused = new Counter({ name: 'rb_push_refused_total', help: 'Socket.IO handshakes refused, by code', labelNames: ['code'] as const, registers: [metrics.registry] });
  function handshakeError(code: HandshakeErrorCode, message: string): Error {
    refused.inc({ code });
    const err = new Error(message) as Error & { data: { code: string } };
    err.data = { code };
    return err;
  }
  new Gauge({
    name: 'rb_push_sockets',
    help: 'Socket.IO clients connected now',
    registers: [metrics.registry],
    collect() {
      this.set(io?.engine.clientsCount ?? 0);
    },
  });

  const roomHas = (room: string): boolean => (io?.sockets.adapter.rooms.get(room)?.size ?? 0) > 0;

  /**
   * Emit to this node's sockets in the rooms of the envelope's scope (only this node's: every node
   * gets every envelope and emits it to its own). Most events reach no screen (nobody watches most
   * estates most of the time): then nothing is encoded or masked, only logged for replay.
   */
  function send(env: PushEnvelope, full: readonly string[], masked: string | undefined): void {
    handover.buffer(env);
    if (!io) return;
    let fullTo: string[] | undefined;
    for (const r of full) if (roomHas(r)) (fullTo ??= []).push(r);
    const maskedTo = masked !== undefined && roomHas(masked) ? masked : undefined;
    if (!fullTo && !maskedTo) return;
    const except = handover.except(env);
    const to = (rooms: string | string[]) => (except ? io!.local.to(rooms).except(except) : io!.local.to(rooms));
    const wire = { scope: env.scope, seq: env.seq, at: env.at, data: env.data };
    if (fullTo) emitLogged(to(fullTo), env.event, wire);
    if (maskedTo) emitLogged(to(maskedTo), env.event, { ...wire, data: deps.mask(env.event as PushEvent, env.data) });
  }

  function emitLive(env: PushEnvelope): void {
    if (env.scope.startsWith('estate:')) {
      const names = namesOf(env.scope.slice(7));
      send(env, names.full, names.masked);
    } else send(env, [env.scope], undefined);
  }

  /** Whether a socket of this node shows `scope` now, or is being replayed it. */
  function listening(scope: string): boolean {
    if (handover.wants(scope)) return true;
    if (!scope.startsWith('estate:')) return roomHas(scope);
    const names = namesOf(scope.slice(7));
    return roomHas(names.masked) || names.full.some(roomHas);
  }

  const order = createScopeOrder({ emit: emitLive, listening, read: (scope, after, limit, before) => pushLog.after(scope, after, limit, before), log });
  const handover = createHandover({ pushLog, order, mask: deps.mask, maxReplay, replayed, resyncs });
  let relay: PushRelay | undefined;
  const relayed = new Counter({ name: 'rb_push_relay_total', help: 'Commits of push envelopes relayed between hub nodes (out, in, or skipped while Redis was away)', labelNames: ['direction'] as const, registers: [metrics.registry] });
  new Gauge({
    name: 'rb_push_sequencing',
    help: 'Live envelopes put back in sequence per scope on this node since start: filled = read back from the push log (a gap), dropped = late or repeated, skipped = missing from the log',
    labelNames: ['kind'] as const,
    registers: [metrics.registry],
    collect() {
      const st = order.stats();
      for (const k of ['filled', 'dropped', 'skipped'] as const) this.set({ kind: k }, st[k]);
    },
  });

  /** Committed envelopes of this node: to its sockets, and through Redis to the other nodes'. */
  function sendCommitted(envelopes: readonly PushEnvelope[]): void {
    for (const env of envelopes) order.accept(env);
    if (!relay || !io) return;
    if (!relay.up()) {
      relayed.inc({ direction: 'skipped' });
      return;
    }
    // JSON, as the push log stores them: a relayed envelope is exactly the one a replay reads back.
    io.serverSideEmit('push:relay', JSON.stringify(envelopes));
    relayed.inc({ direction: 'out' });
  }
  pushLog.onCommit(sendCommitted);

  /** Scope and room names of an estate, built once (toEstate runs for every event). */
  const estateNames = new Map<string, { scope: string; full: readonly string[]; masked: string }>();
  function namesOf(estate: string): { scope: string; full: readonly string[]; masked: string } {
    let n = estateNames.get(estate);
    if (!n) {
      if (estateNames.size >= 10_000) estateNames.clear();
      n = { scope: estateScope(estate), full: [fullRoom(estate), ALL_FULL], masked: maskedRoom(estate) };
      estateNames.set(estate, n);
    }
    return n;
  }

  const push: Push = {
    async start() {
      stopping = false;
      // destroyUpgradeTimeout: engine.io ends any other upgrade (the live-video WebSockets, hub/video)
      // that has written nothing after it; their credential check can take more than its default 1 s under load.
      io = new Server(deps.http, { serveClient: false, maxHttpBufferSize: 64 * 1024, destroyUpgradeTimeout: 10_000 });
      if (deps.redisUrl) {
        relay = createPushRelay({ url: deps.redisUrl, log });
        io.adapter(relay.adapter);
        // Envelopes another node committed: to this node's sockets, in sequence.
        io.on('push:relay', (json) => {
          relayed.inc({ direction: 'in' });
          let envelopes: unknown;
          try {
            envelopes = typeof json === 'string' ? JSON.parse(json) : undefined;
          } catch {
            return;
          }
          if (!Array.isArray(envelopes)) return;
          for (const env of envelopes as Array<Partial<PushEnvelope> | null>) {
            if (env && typeof env.scope === 'string' && Number.isSafeInteger(env.seq) && typeof env.event === 'string') order.accept(env as PushEnvelope);
          }
        });
        // What this node's sockets missed while Redis was away (nothing else would bring an idle scope's).
        relay.onBack(() => {
          order
            .catchUp()
            .then((n) => n && log.info({ envelopes: n }, 'push: read back what Redis missed'))
            .catch((err: unknown) => log.warn({ err }, 'push catch-up failed'));
        });
      }
      io.use((socket, next) => {
        if (stopping) return next(handshakeError('RB_ERR_UNAVAILABLE', 'the hub is stopping'));
        // Untrusted until checked: the fields of HandshakeAuth, each of any type.
        const auth = (socket.handshake.auth ?? {}) as { [K in keyof HandshakeAuth]?: unknown };
        if (typeof auth.token !== 'string' || auth.token.length === 0 || auth.token.length > 4096) {
          return next(handshakeError('RB_ERR_UNAUTHENTICATED', 'a token is required (handshake auth.token)'));
        }
        deps
          .verify(auth.token)
          .then((principal) => {
            const wanted = Array.isArray(auth.estates) ? auth.estates.filter(isId).slice(0, 1000) : undefined;
            const inScope = (e: string): boolean => principal.estates === 'all' || principal.estates.has(e);
            if (wanted && wanted.some((e) => !inScope(e))) {
              return next(handshakeError('RB_ERR_FORBIDDEN', 'auth.estates names an estate outside your scope'));
            }
            const estates = wanted ?? (principal.estates === 'all' ? [] : [...principal.estates]);
            const since: Record<string, number> = {};
            if (auth.since && typeof auth.since === 'object') {
              for (const [scope, seq] of Object.entries(auth.since as Record<string, unknown>).slice(0, 1000)) {
                if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) since[scope] = seq;
              }
            }
            socket.data = { principal, estates, since };
            next();
          })
          .catch((err: unknown) => {
            const code = (err as { code?: HandshakeErrorCode }).code ?? 'RB_ERR_UNAUTHENTICATED';
            next(handshakeError(code, err instanceof Error ? err.message : 'invalid token'));
          });
      });
      io.on('connection', (socket) => {
        const { principal, estates } = socket.data;
        const full = seesFullData(principal.role);
        const rooms = [userScope(principal.id)];
        if (principal.estates === 'all' && estates.length === 0) rooms.push(ALL_FULL);
        for (const e of estates) rooms.push(full ? fullRoom(e) : maskedRoom(e));
        socket.once('disconnect', () => handover.forget(socket.id));
        handover.joinAndReplay(socket, rooms).catch((err: unknown) => {
          log.error({ err, user: principal.id }, 'push replay failed');
          socket.disconnect(true);
        });
        if (full && deps.onFullView) deps.onFullView(principal, principal.estates === 'all' && estates.length === 0 ? ['*'] : estates);
        if (principal.exp) {
          const timer = setTimeout(() => {
            expiryTimers.delete(timer);
            socket.emit('session:expired', { scope: userScope(principal.id), seq: 0, at: Date.now(), data: null });
            socket.disconnect(true);
          }, Math.max(0, principal.exp - Date.now()));
          timer.unref();
          expiryTimers.add(timer);
          socket.once('disconnect', () => {
            clearTimeout(timer);
            expiryTimers.delete(timer);
          });
        }
        log.debug({ id: socket.id, user: principal.id, role: principal.role, estates }, 'socket connected');
      });
      // Logged messages carry their event-log position: the push log commits the push consumer's
      // cursor with the rows made from them (hub/push/log.ts saveSourceCursor), so after a crash the
      // consumer resumes exactly after what was written: no event reaches the screens twice or never.
      unsubscribe.push(
        bus.on('event', (event, pos) => {
          pushLog.append(namesOf(event.estate).scope, 'event', event, undefined, pos);
          metrics.pushed.inc();
        }),
        bus.on('gateway.status', (status, pos) => {
          pushLog.append(namesOf(status.estate).scope, 'gateway:status', status, undefined, pos);
        }),
        bus.on('state', (change) => {
          if (deps.owns && !deps.owns(change.estate)) return;
          push.toEstate(change.estate, 'device:state', change, change.ts);
        }),
        bus.on('snapshot', (l, pos) => {
          const link: LivePayloads['snapshot'] = { eventId: l.eventId, sha256: l.sha256, device: l.device, camera: l.camera, takenAt: l.takenAt };
          pushLog.append(namesOf(l.estate).scope, 'snapshot', link, undefined, pos);
        }),
      );
      const pruneTimer = setInterval(() => {
        pushLog.prune().catch((err: unknown) => log.warn({ err }, 'push log prune failed'));
      }, 3600_000);
      pruneTimer.unref();
      unsubscribe.push(() => clearInterval(pruneTimer));
    },
    async stop() {
      stopping = true;
      for (const off of unsubscribe.splice(0)) off();
      for (const t of expiryTimers) clearTimeout(t);
      expiryTimers.clear();
      // io.close() would also close the shared HTTP server; the API owns it, so only drop the sockets.
      io?.local.disconnectSockets(true);
      io?.engine.close();
      await pushLog.flush();
      // The adapter's close tells the other nodes; then the Redis connections go.
      await io?.of('/').adapter.close();
      await relay?.close();
      relay = undefined;
    },
    toEstate(estate, event, data, at) {
      pushLog.append(namesOf(estate).scope, event, data, at);
    },
    toUser(userId, role, event, data, at) {
      pushLog.append(userScope(userId), event, seesFullData(role) ? data : deps.mask(event, data), at);
    },
    transaction(fn) {
      return pushLog.transaction((trx, out) =>
        fn(trx, {
          toEstate: (estate, event, data, at) => out.append(namesOf(estate).scope, event, data, at),
          toUser: (userId, role, event, data, at) => out.append(userScope(userId), event, seesFullData(role) ? data : deps.mask(event, data), at),
        }),
      );
    },
    disconnectUser(userId, reason) {
      if (!io) return 0;
      const room = userScope(userId);
      const n = io.sockets.adapter.rooms.get(room)?.size ?? 0;
      // In a cluster the user may have sockets on other nodes: the adapter carries both to them.
      if (n === 0 && !relay) return 0;
      io.to(room).emit('session:revoked', { scope: room, seq: 0, at: Date.now(), data: { reason } });
      io.in(room).disconnectSockets(true);
      log.info({ user: userId, sockets: n, reason }, 'user signed out of its sockets');
      return n;
    },
    connections: () => io?.engine.clientsCount ?? 0,
  };
  return push;
}
