/**
 * The live push contract (Socket.IO, docs/alerts.md "Live push"): every event the hub sends a screen →
 * its payload, the envelope around it, what a screen sends in its handshake, and the codes a refused
 * handshake carries. The hub's `Server<ClientToServer, ServerToClient, InterServer, SocketData>`
 * (hub/push/push.ts) is typed with these maps; web/src/live.ts `import type`s them. Plain types, no
 * runtime imports but the list of event names: this file is part of the browser's contract.
 */
import type { Alert, Handover, StateChange } from './api.js';
import type { CommandErrorCode } from './commands.js';
import type { HandshakeErrorCode } from './errors.js';
import type { GatewayStatus } from './status.js';
import type { OrderTier, WorkOrderView } from './work-orders.js';

/**
 * Every push message: `seq` grows by one per `scope` (`estate:<id>` or `user:<id>`); `at` is the hub's
 * time (ms). Control messages (`resync`, `session:*`) have the same shape outside the sequence.
 */
export interface Envelope<T> {
  scope: string;
  seq: number;
  at: number;
  data: T;
}

/** An accepted device event as pushed (`event`); protocol/events.ts `RbEvent` is its precise form. */
export interface LiveEvent {
  id: string;
  ts: number;
  estate: string;
  gateway: string;
  device: string;
  type: string;
  data: Record<string, unknown>;
}

/** `alert:notify`: sent to each person an escalation reaches, in their `user:<id>` scope. */
export interface AlertNotify {
  alert: Alert;
  level: number;
  /** Why: new, escalated, renotify. */
  reason: string;
}

/** `snapshot`: a camera picture linked to an event (fetch it at `/api/v1/snapshots/<sha256>`). */
export interface SnapshotLink {
  eventId: string;
  sha256: string;
  device: string;
  camera: string;
  takenAt: number;
}

/** `command:result`: the outcome of a command someone asked for on this estate. */
export interface CommandResultPush {
  id: string;
  estate: string;
  device: string;
  name: string;
  actor?: unknown;
  /** The gateway's answer (absent when the hub gave up first: then `error`). */
  result?: { status: 'ok' | 'error'; code?: CommandErrorCode | string; message?: string; duplicate?: boolean; ts?: number; data?: Record<string, unknown> };
  /** The hub could not get a result (RB_ERR_COMMAND_TIMEOUT, RB_ERR_GATEWAY_REVOKED, …). */
  error?: { code: string; message: string };
}

/** `order:notify`: sent to each person a work order's new tier reaches (its deadline passed), in their `user:<id>` scope. */
export interface OrderNotify {
  /** The order, phone masked. */
  order: WorkOrderView;
  tier: OrderTier;
  reason: 'escalated';
}

/** Payload of each sequenced event, by name. */
export interface LivePayloads {
  'alert:new': Alert;
  'alert:update': Alert;
  'alert:notify': AlertNotify;
  'device:state': StateChange;
  event: LiveEvent;
  'command:result': CommandResultPush;
  'gateway:status': GatewayStatus;
  snapshot: SnapshotLink;
  'handover:new': Handover;
  /** A work order was created (docs/work-orders.md); the phone is masked in every view. */
  'order:new': WorkOrderView;
  /** A work order changed state, tier, assignee, or got a step. */
  'order:update': WorkOrderView;
  /** Sent to each person a work order's new tier reaches (its deadline passed), in their `user:<id>` scope. */
  'order:notify': OrderNotify;
}
/** Sequenced events: logged, replayed after a reconnect (hub/push/log.ts). */
export type PushEvent = keyof LivePayloads;
export const PUSH_EVENTS = ['alert:new', 'alert:update', 'alert:notify', 'device:state', 'event', 'command:result', 'gateway:status', 'snapshot', 'handover:new', 'order:new', 'order:update', 'order:notify'] as const satisfies readonly PushEvent[];

/** Control events: outside the sequence (seq 0, or the scope's last seq for `resync`). */
export interface ControlPayloads {
  /** More was missed than the hub replays: reload the scope over REST. `seq` is the scope's last. */
  resync: null;
  /** The token expired; the hub disconnects next (the client reconnects with a refreshed token). */
  'session:expired': null;
  /** Signed out everywhere (password changed, user disabled); the hub disconnects next. */
  'session:revoked': { reason: string };
}
export type ControlEvent = keyof ControlPayloads;
export type LiveEventName = PushEvent | ControlEvent;
export type LivePayload<K extends LiveEventName> = K extends PushEvent ? LivePayloads[K] : K extends ControlEvent ? ControlPayloads[K] : never;

/** Socket.IO's server → client map. */
export type ServerToClient = { [K in LiveEventName]: (envelope: Envelope<LivePayload<K>>) => void };
/** A screen sends nothing but its handshake; everything else goes over REST. */
export type ClientToServer = Record<never, never>;
/**
 * Between the hub nodes of a cluster (Socket.IO server-side messages over Redis, hub/push/relay.ts):
 * `push:relay` carries the envelopes one node committed (a JSON array of `{scope, seq, at, event,
 * data}`, data unmasked: as the push log stores them, so a relayed envelope is the replayed one);
 * each node emits them to its own sockets.
 */
export type InterServer = { 'push:relay': (envelopesJson: string) => void };

/** `handshake.auth` a screen sends on every (re)connect. */
export interface HandshakeAuth {
  /** Access token (Bearer), as from `POST /api/v1/auth/login`. */
  token?: string;
  /** Only these estates (default: every estate in the token's scope). */
  estates?: string[];
  /** Last seq seen per scope: the hub replays everything after it. */
  since?: Record<string, number>;
}

/** `connect_error` of a refused handshake: `err.data.code`. */
export interface HandshakeErrorData {
  code: HandshakeErrorCode | (string & {});
}
