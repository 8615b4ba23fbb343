import { signal } from '@preact/signals';
import { useEffect, useRef, useState } from 'preact/hooks';
import { io, type Socket } from 'socket.io-client';
import { noteServerTime } from './clock.js';
import { refreshSession, session, sessionRefused } from './session.js';
import type { HandshakeAuth, HandshakeErrorData, LiveEventName, LivePayload } from '../../protocol/live.js';
import type { Envelope } from './types.js';
import { createLiveState, type LiveState } from './live-state.js';

/**
 * The live link (Socket.IO, docs/alerts.md "Live push"). Every message is an envelope
 * `{scope, seq, at, data}`; the last seq per scope is sent back as `auth.since` on every (re)connect so
 * the hub replays what was missed, in order. Whenever that cannot be trusted — a `resync`, a gap in a
 * sequence, a sequence that restarted, a watched scope that had no seq yet — the views reload over
 * REST (`onSync`). While the link is down `connection` says so and the app shows a banner.
 */
export type ConnState = 'connecting' | 'connected' | 'disconnected';

export const connection = signal<ConnState>('connecting');
/** When the link went down (the data on screen is as of then); null while connected. */
export const downSince = signal<number | null>(null);
/** A REST reload after a resync is running. */
export const resyncing = signal(0);

type Handler = (data: never, env?: Envelope<unknown>) => void;

const seqs = new Map<string, { seq: number; at: number }>();
const handlers = new Map<string, Set<Handler>>();
const syncers = new Set<{ scopes: string[]; fn: () => void }>();
let socket: Socket | undefined;
let connectedOnce = false;

function isEnvelope(msg: unknown): msg is Envelope<unknown> {
  const m = msg as Partial<Envelope<unknown>> | null;
  return !!m && typeof m === 'object' && typeof m.scope === 'string' && typeof m.seq === 'number' && 'data' in m;
}

/** Ask the views that show `scope` (all views when undefined) to reload over REST. */
function sync(scope?: string): void {
  for (const s of syncers) if (scope === undefined || s.scopes.length === 0 || s.scopes.includes(scope)) s.fn();
}

function dispatch(event: string, msg: unknown): void {
  // Control messages come in the envelope's shape but are outside the sequence (seq 0 / the last seq).
  if (event === 'session:expired') return; // the hub disconnects us next; the reconnect sends the refreshed token
  if (event === 'resync') {
    const r = (msg ?? {}) as { scope?: string; seq?: number };
    if (typeof r.scope === 'string') {
      if (typeof r.seq === 'number') seqs.set(r.scope, { seq: r.seq, at: Date.now() });
      sync(r.scope);
    } else sync();
    return;
  }
  let data = msg;
  let env: Envelope<unknown> | undefined;
  if (isEnvelope(msg)) {
    env = msg;
    data = msg.data;
    const last = seqs.get(msg.scope);
    const at = typeof msg.at === 'number' ? msg.at : Date.now();
    if (typeof msg.at === 'number') noteServerTime(msg.at);
    if (last && msg.seq <= last.seq) {
      // A replayed message already seen: drop it. A lower seq with a newer time means the hub's
      // sequence restarted: take it, and reload what this scope shows.
      if (at <= last.at) return;
      seqs.set(msg.scope, { seq: msg.seq, at });
      queueMicrotask(() => sync(msg.scope));
    } else {
      seqs.set(msg.scope, { seq: msg.seq, at });
      if (last && msg.seq > last.seq + 1) queueMicrotask(() => sync(msg.scope));
    }
  }
  for (const h of handlers.get(event) ?? []) {
    try {
      (h as (d: unknown, e?: Envelope<unknown>) => void)(data, env);
    } catch (err) {
      console.error(`live handler for ${event} failed`, err);
    }
  }
}

export function startLive(): void {
  if (socket) return;
  connectedOnce = false;
  connection.value = 'connecting';
  const s = io({
    // WebSocket from the first request, no HTTP long-polling: a poll still in flight when the hub
    // ends a session (a refused token, a sign-out) came back as a failed 400 request, and polling
    // would need sticky sessions behind the cluster's load balancer (every browser we serve has
    // WebSocket).
    transports: ['websocket'],
    reconnectionDelay: 500,
    reconnectionDelayMax: 3_000,
    auth: (cb) => {
      const since: Record<string, number> = {};
      for (const [scope, v] of seqs) since[scope] = v.seq;
      const auth: HandshakeAuth = { since };
      if (session.value?.token) auth.token = session.value.token;
      cb(auth);
    },
  });
  socket = s;
  s.on('connect', () => {
    const reconnect = connectedOnce;
    connectedOnce = true;
    connection.value = 'connected';
    downSince.value = null;
    if (!reconnect) {
      sync(); // what arrived between the views' first REST load and now was not pushed to us
      return;
    }
    // A watched scope without a seq got no replay: reload it.
    for (const syncer of syncers) if (syncer.scopes.length === 0 || syncer.scopes.some((sc) => !seqs.has(sc))) syncer.fn();
  });
  s.on('disconnect', (reason) => {
    connection.value = 'disconnected';
    downSince.value ??= Date.now();
    // The hub closed us on purpose (restart, token revoked): reconnect; the handshake re-checks the token.
    if (reason === 'io server disconnect') setTimeout(() => socket === s && s.connect(), 1_000);
  });
  s.on('connect_error', (err: Error & { data?: Partial<HandshakeErrorData> }) => {
    if (err.data?.code === 'RB_ERR_UNAUTHENTICATED' || err.data?.code === 'RB_ERR_TOKEN_REVOKED') {
      // The token expired while we were away (a phone asleep): renew it once, then reconnect with it.
      void refreshSession().then((ok) => {
        if (socket !== s) return;
        if (ok) s.connect();
        else sessionRefused();
      });
      return;
    }
    connection.value = 'disconnected';
    downSince.value ??= Date.now();
    // A refusal by the hub's middleware stops socket.io's own retries; keep trying.
    if (!s.active) setTimeout(() => socket === s && s.connect(), 3_000);
  });
  s.onAny((event: string, msg: unknown) => dispatch(event, msg));
}

export function stopLive(): void {
  socket?.close();
  socket = undefined;
  seqs.clear();
  connection.value = 'connecting';
  downSince.value = null;
}

/**
 * Listen to one push event outside any component (e.g. command results); returns the unsubscribe.
 * Without a type argument the payload is the one protocol/live.ts gives the event.
 */
export function onLive<K extends LiveEventName>(event: K, handler: (data: LivePayload<K>, env?: Envelope<LivePayload<K>>) => void): () => void;
export function onLive<T>(event: LiveEventName, handler: (data: T, env?: Envelope<T>) => void): () => void;
export function onLive<T>(event: LiveEventName, handler: (data: T, env?: Envelope<T>) => void): () => void {
  const h = handler as unknown as Handler;
  let set = handlers.get(event);
  if (!set) handlers.set(event, (set = new Set()));
  set.add(h);
  return () => void set.delete(h);
}

/** Listen to one push event (the envelope unwrapped) while the component is mounted; typed as onLive. */
export function useLive<K extends LiveEventName>(event: K, handler: (data: LivePayload<K>, env?: Envelope<LivePayload<K>>) => void): void;
export function useLive<T>(event: LiveEventName, handler: (data: T, env?: Envelope<T>) => void): void;
export function useLive<T>(event: LiveEventName, handler: (data: T, env?: Envelope<T>) => void): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    const h: Handler = ((data: T, env?: Envelope<T>) => ref.current(data, env)) as Handler;
    let set = handlers.get(event);
    if (!set) handlers.set(event, (set = new Set()));
    set.add(h);
    return () => void set.delete(h);
  }, [event]);
}

/**
 * Load over REST now, and again whenever the live link cannot vouch for the data of `scopes`
 * (`estate:E`, `user:U`; empty = any): first connect, resync, gaps, reconnect without replay.
 */
export function useSync(scopes: string[], load: () => Promise<unknown>): void {
  const ref = useRef(load);
  ref.current = load;
  const key = scopes.join(',');
  useEffect(() => {
    const run = () => {
      resyncing.value++;
      void ref.current().finally(() => resyncing.value--);
    };
    const entry = { scopes: key ? key.split(',') : [], fn: run };
    syncers.add(entry);
    run();
    return () => void syncers.delete(entry);
  }, [key]);
}

/**
 * Component state loaded over REST and kept live (web/src/live-state.ts): the value, and its `change`
 * (for every push and action answer) and `load` (for every REST read of it).
 */
export function useLiveState<T>(initial: T | (() => T)): [T, LiveState<T>] {
  const [value, setValue] = useState<T>(initial);
  const live = useRef<LiveState<T> | null>(null);
  live.current ??= createLiveState<T>((fn) => setValue(fn));
  return [value, live.current];
}
