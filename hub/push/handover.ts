import type { Counter } from 'prom-client';
import type { Socket } from 'socket.io';
import { isId } from '../../protocol/index.js';
import type { ClientToServer, Envelope, InterServer, PushEvent, ServerToClient } from '../../protocol/live.js';
import type { PushEnvelope, PushLog } from './log.js';
import type { ScopeOrder } from './order.js';
import { seesFullData, userScope, type PushPrincipal } from './push.js';

export interface SocketData {
  principal: PushPrincipal;
  estates: string[];
  since: Record<string, number>;
}
type PushSocket = Socket<ClientToServer, ServerToClient, InterServer, SocketData>;

/**
 * Emit a message read back from the push log (or appended to it): its event name and data were typed
 * by toEstate/toUser when it was logged; the log stores them untyped, so this is the one cast.
 */
export function emitLogged(target: { emit<K extends keyof ServerToClient>(event: K, ...args: Parameters<ServerToClient[K]>): unknown }, event: string, wire: Envelope<unknown>): void {
  (target.emit as (event: string, wire: Envelope<unknown>) => unknown).call(target, event, wire);
}

export interface HandoverDeps {
  pushLog: PushLog;
  order: ScopeOrder;
  mask(event: PushEvent, data: unknown): unknown;
  maxReplay: number;
  replayed: Counter;
  resyncs: Counter;
}

/** From replay to live for a (re)connecting socket, with no envelope lost or sent twice (hub/push/push.ts). */
export interface Handover {
  joinAndReplay(socket: PushSocket, rooms: string[]): Promise<void>;
  /** A live envelope this node emits: kept for the sockets being replayed its scope. */
  buffer(env: PushEnvelope): void;
  /** Whether a socket of this node is being replayed `scope`. */
  wants(scope: string): boolean;
  /** Sockets to leave out of the room emit of `env`: they were replayed it already. */
  except(env: PushEnvelope): string[] | undefined;
  /** The socket is gone. */
  forget(socketId: string): void;
}

export function createHandover(deps: HandoverDeps): Handover {
  const { pushLog, order, maxReplay, replayed, resyncs } = deps;
  /** Sockets being replayed: they get live envelopes of their scopes buffered until their replay is sent. */
  const pending = new Set<{ wants(scope: string): boolean; buf: PushEnvelope[] }>();
  /**
   * Per scope, sockets replayed up to a sequence this node has not emitted live yet (the replay read
   * a row whose live copy is still on its way through Redis): left out of the room emit up to it.
   */
  const floors = new Map<string, Map<string, number>>();

  /**
   * Join the socket's rooms and replay what it missed. With a `since`, the socket is registered
   * first: from then on every live envelope of its scopes is buffered for it (whichever node wrote
   * it). Then the log is read; a message committed before the read is replayed, one committed after
   * it arrives live and is buffered. The replay is sent, then the buffered envelopes above it (a gap
   * between them is read back), and the rooms are joined in that same tick: none twice, none lost,
   * without holding any writer back.
   */
  async function joinAndReplay(socket: PushSocket, rooms: string[]): Promise<void> {
    const { principal, estates, since } = socket.data;
    // Every estate for a principal over all estates that named none (the ALL_FULL room), else the named ones.
    const allEstates = principal.estates === 'all' && estates.length === 0;
    const own = userScope(principal.id);
    const wants = (scope: string): boolean => scope === own || (scope.startsWith('estate:') && (allEstates ? isId(scope.slice(7)) : estates.includes(scope.slice(7))));
    const scopes = Object.entries(since).filter(([scope]) => wants(scope));
    if (scopes.length === 0) {
      void socket.join(rooms);
      return;
    }
    const waiting = { wants, buf: [] as PushEnvelope[] };
    pending.add(waiting);
    try {
      const read: Array<[string, number, PushEnvelope[] | null, number]> = [];
      for (const [scope, after] of scopes) {
        const rows = await pushLog.after(scope, after, maxReplay);
        read.push([scope, after, rows, rows === null ? await pushLog.last(scope) : 0]);
      }
      if (!socket.connected) return;
      /** The last seq sent to this socket per replayed scope. */
      const sent = new Map<string, number>();
      for (const [scope, after, rows, last] of read) {
        replay(socket, scope, rows, last);
        sent.set(scope, rows === null ? last : (rows.at(-1)?.seq ?? after));
      }
      for (;;) {
        const buf = waiting.buf;
        waiting.buf = [];
        const gaps = new Map<string, [number, number]>();
        const kept: PushEnvelope[] = [];
        for (const env of buf) {
          if (gaps.has(env.scope)) kept.push(env);
          else {
            const last = sent.get(env.scope);
            if (last === undefined) emitTo(socket, env); // a scope it named no since for: live from now
            else if (env.seq === last + 1) {
              emitTo(socket, env);
              sent.set(env.scope, env.seq);
            } else if (env.seq > last) {
              gaps.set(env.scope, [last, env.seq]);
              kept.push(env);
            }
          }
        }
        if (gaps.size === 0) break;
        // What arrives meanwhile is appended after what waits behind the gaps.
        waiting.buf = kept;
        for (const [scope, [last, upTo]] of gaps) {
          const rows = (await pushLog.after(scope, last, upTo - last - 1, upTo)) ?? [];
          if (!socket.connected) return;
          for (const env of rows) emitTo(socket, env);
          sent.set(scope, upTo - 1); // what the log no longer has, the client sees as a gap
        }
      }
      void socket.join(rooms);
      for (const [scope, last] of sent) {
        const next = order.next(scope);
        if (next === undefined) order.seed(scope, last);
        else if (next <= last) {
          // This node has not emitted up to what the socket was replayed (on its way through Redis).
          let f = floors.get(scope);
          if (!f) floors.set(scope, (f = new Map()));
          f.set(socket.id, last);
        }
      }
    } finally {
      pending.delete(waiting);
    }
  }

  /** One envelope to one socket, masked for it (a user's own scope was logged masked for that user already). */
  function emitTo(socket: PushSocket, env: PushEnvelope): void {
    const data = env.scope.startsWith('user:') || seesFullData(socket.data.principal.role) ? env.data : deps.mask(env.event as PushEvent, env.data);
    emitLogged(socket, env.event, { scope: env.scope, seq: env.seq, at: env.at, data });
  }

  function replay(socket: PushSocket, scope: string, rows: PushEnvelope[] | null, last: number): void {
    if (rows === null) {
      socket.emit('resync', { scope, seq: last, at: Date.now(), data: null });
      resyncs.inc();
      return;
    }
    for (const env of rows) emitTo(socket, env);
    replayed.inc(rows.length);
  }

  return {
    joinAndReplay,
    buffer(env) {
      for (const p of pending) if (p.wants(env.scope)) p.buf.push(env);
    },
    wants(scope) {
      for (const p of pending) if (p.wants(scope)) return true;
      return false;
    },
    except(env) {
      const floor = floors.get(env.scope);
      if (!floor) return undefined;
      let except: string[] | undefined;
      for (const [id, seq] of floor) {
        if (env.seq <= seq) (except ??= []).push(id);
        if (env.seq >= seq) floor.delete(id);
      }
      if (floor.size === 0) floors.delete(env.scope);
      return except;
    },
    forget(socketId) {
      for (const [scope, f] of floors) if (f.delete(socketId) && f.size === 0) floors.delete(scope);
    },
  };
}
