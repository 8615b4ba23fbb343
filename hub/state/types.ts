import { z } from 'zod';
import type { GatewayStatus, RbEvent } from '../../protocol/index.js';
import type { OrderMark } from '../../protocol/order.js';
import type { StateChange } from '../../protocol/api.js';
import type { ConnectionKey } from '../bus.js';

/**
 * Live state of every estate, held in memory by the state service (hub/state/service.ts) and changed
 * only by the reducer (hub/state/reducer.ts). Bounded: estates x devices (doors <= 64 and lanes <= 16
 * per device by the protocol schemas).
 */

export const StateOptionsSchema = z
  .object({
    offlineAfterMs: z.number().int().min(0).default(60_000).describe('A device is declared offline after staying offline this long'),
    onlineAfterMs: z.number().int().min(0).default(5_000).describe('A device is declared online again after staying online this long'),
    timeZone: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai')
      .default('Asia/Shanghai')
      .describe('Occupancy resets at local midnight of this zone'),
    maxEstates: z.number().int().min(1).default(10_000),
    maxDevicesPerEstate: z.number().int().min(1).default(2_000),
    coalesceMs: z.number().int().min(0).default(250).describe('At most one push per key within this window; the last value wins'),
  })
  .strict();
export type StateOptions = z.infer<typeof StateOptionsSchema>;
export type StateOptionsInput = z.input<typeof StateOptionsSchema>;

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export interface OutboxState {
  depth: number;
  pressure: boolean;
  droppedTotal: number;
  droppedSinceStart: number;
  bytes?: number;
  alarms?: number;
  oldestAgeS?: number | null;
}

export interface GatewayState {
  gateway: string;
  /** Whether the gateway holds an MQTT connection to the hub now. */
  connected: boolean;
  /** Open MQTT connections (a takeover can report the new one before the old one's end). */
  connections: number;
  /** Its latest MQTT connection (hub/broker/sessions.ts): older connections' changes and wills are ignored. */
  conn?: ConnectionKey | undefined;
  /** From its last status (or `offline`/`lwt` when the connection died without one). */
  state: 'online' | 'offline';
  reason?: GatewayStatus['reason'] | undefined;
  version?: string | undefined;
  uptimeS?: number | undefined;
  outbox?: OutboxState | undefined;
  lastHubContact?: number | null | undefined;
  reconnects?: number | undefined;
  /** Gateway time of its last status. */
  statusTs?: number | undefined;
  /** Hub time of the last status or connection change. */
  lastSeen: number;
}

export interface DeviceState {
  device: string;
  gateway: string;
  /** From the gateway's status: the configured human name and the device kind. */
  name?: string | undefined;
  kind?: string | undefined;
  /** Declared (debounced) state; null until the first observation. */
  online: boolean | null;
  /** Hub time the declared state began. */
  since: number;
  /** Latest observation, before hysteresis, and since when (hub time). */
  observed: boolean;
  observedSince: number;
  /** Why the last offline observation was made (device.offline reason, `status`, `gateway-offline`). */
  reason?: string | undefined;
  /** Last contact: from gateway status `lastSeen` or a fresh event (ms). */
  lastSeen?: number | undefined;
  /**
   * Shown at once, without hysteresis: the device answers but refuses the gateway's credentials
   * (gateway status `state`, or a device.offline event with state auth-failed); a device.online ends it.
   */
  condition?: 'auth-failed' | undefined;
  /** The gateway's last error for the device, one line (status `error`). */
  error?: string | undefined;
  /** Make, model and firmware as the device reports them (status `info`). */
  info?: DeviceInfo | undefined;
  /** Misbehaviour the gateway works around (status `warnings`). */
  warnings?: DeviceWarning[] | undefined;
  /** Cameras linked to it in the gateway config (status `cameras`): its alarms should carry snapshots. */
  cameras?: string[] | undefined;
}

export type DeviceInfo = NonNullable<GatewayStatus['devices']>[string]['info'];
export type DeviceWarning = NonNullable<NonNullable<GatewayStatus['devices']>[string]['warnings']>[number];

export type DoorValue = 'open' | 'closed' | 'forced' | 'held';
export interface DoorState {
  device: string;
  door: number;
  state: DoorValue;
  /** Device time the door entered this state. */
  since: number;
  /** Device time of the last event applied. */
  ts: number;
  heldS?: number | undefined;
  /** Gateway order of the last event applied: an older one never overwrites (protocol/order.ts). Not shown. */
  mark: OrderMark;
}

export type BarrierValue = 'open' | 'closed' | 'fault';
export interface BarrierState {
  device: string;
  lane: number;
  state: BarrierValue;
  since: number;
  ts: number;
  reason?: string | undefined;
  /** As DoorState.mark. Not shown. */
  mark: OrderMark;
}

export type CameraCondition = 'motion' | 'tamper' | 'signalLoss';
export interface CameraState {
  device: string;
  motion: boolean;
  tamper: boolean;
  signalLoss: boolean;
  /** Device time of the last event applied per condition (older events are ignored). */
  ts: Partial<Record<CameraCondition, number>>;
  since: Partial<Record<CameraCondition, number>>;
}

export interface OccupancyState {
  /** Local day `YYYY-MM-DD` in the configured zone the counts belong to. */
  day: string;
  /** Vehicles in minus out today, never below 0. */
  count: number;
  entered: number;
  exited: number;
}

export interface EstateState {
  estate: string;
  gateways: Map<string, GatewayState>;
  devices: Map<string, DeviceState>;
  /** Keyed `{device}/{door}`. */
  doors: Map<string, DoorState>;
  /** Keyed `{device}/{lane}`. */
  barriers: Map<string, BarrierState>;
  cameras: Map<string, CameraState>;
  occupancy: OccupancyState;
  updatedAt: number;
}

export interface LiveState {
  estates: Map<string, EstateState>;
  /** Inputs refused because a bound was reached. */
  refused: number;
}

export const createLiveState = (): LiveState => ({ estates: new Map(), refused: 0 });

/** What the reducer consumes: the hub bus messages, unchanged. */
export type StateInput =
  | { kind: 'event'; event: RbEvent }
  | { kind: 'status'; status: GatewayStatus }
  | ({ kind: 'connection'; estate: string; gateway: string; connected: boolean } & Partial<ConnectionKey>);

/** One change, as pushed (event `device:state`, room `estate:{id}`): the contract type of protocol/api.ts. */
export type { ChangeKind, StateChange } from '../../protocol/api.js';

/** A device whose observed state differs from its declared state; tick it at `at`. */
export interface Wake {
  estate: string;
  device: string;
  at: number;
}

export interface ApplyResult {
  changes: StateChange[];
  wake: Wake[];
}
