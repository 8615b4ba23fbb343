/**
 * The shapes the screens read, as docs/alerts.md (REST + Socket.IO contract) and hub/state/views.ts
 * define them. Kept here, not imported from hub/, so the browser bundle pulls in no server code.
 */

export type Role = 'volunteer' | 'patrol' | 'center' | 'admin';

export interface User {
  id: string;
  name: string;
  displayName?: string | null;
  role: Role;
  scopes?: string[];
}

export interface LoginResponse {
  token: string;
  expiresAt: number | string;
  user: User;
}

export interface EstateRef {
  id: string;
  name?: string | null;
  grid?: string | null;
  street?: string | null;
}

export type Severity = 1 | 2 | 3 | 4;
export type AlertState = 'open' | 'acknowledged' | 'escalated' | 'resolved';

export interface SnapshotRef {
  sha256: string;
  eventId?: string;
  url?: string;
}

export interface Alert {
  id: string;
  estate: string;
  gateway?: string;
  device: string;
  rule: string;
  key?: string;
  severity: Severity;
  state: AlertState;
  count?: number;
  openedAt: number;
  lastAt?: number;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  /** The person's name (reduced, e.g. 王**, for volunteers and patrols). */
  acknowledgedByName?: string;
  resolvedAt?: number;
  resolvedBy?: string;
  resolvedByName?: string;
  /** The device's configured name (e.g. 东门), when its gateway gave one. */
  deviceName?: string;
  resolution?: string;
  level?: number;
  assignee?: string;
  events?: string[];
  snapshots?: SnapshotRef[];
  data?: Record<string, unknown>;
  seq?: number;
}

export interface Page<T> {
  items: T[];
  next?: string | null;
}

/** Every push message: `seq` grows by one per `scope`. */
export interface Envelope<T> {
  scope: string;
  seq: number;
  at: number;
  data: T;
}

export interface RbEvent {
  id: string;
  ts: number;
  estate: string;
  gateway: string;
  device: string;
  type: string;
  data: Record<string, unknown>;
}

export type ChangeKind = 'device' | 'door' | 'barrier' | 'gateway' | 'camera' | 'occupancy';

export interface StateChange {
  estate: string;
  kind: ChangeKind;
  key: string;
  value: unknown;
  ts: number;
}

export interface DeviceView {
  device: string;
  gateway: string;
  /** The configured human name (e.g. 东门) and kind, from the gateway's status. */
  name?: string;
  kind?: 'access-gate' | 'barrier-gate' | 'onvif-camera';
  online: boolean | null;
  since: number;
  lastSeen?: number;
  reason?: string;
  /** The device answers but refuses the gateway's credentials (shown at once, before the offline delay). */
  condition?: 'auth-failed';
  error?: string;
  info?: { manufacturer?: string; model?: string; firmware?: string; serial?: string };
  warnings?: Array<{ code: string; message: string; since: number }>;
}
export interface DoorView {
  device: string;
  door: number;
  state: 'open' | 'closed' | 'forced' | 'held';
  since: number;
}
export interface BarrierView {
  device: string;
  lane: number;
  state: 'open' | 'closed' | 'fault';
  since: number;
}
export interface CameraView {
  device: string;
  motion: boolean;
  tamper: boolean;
  signalLoss: boolean;
}
export interface GatewayView {
  gateway: string;
  online: boolean;
  lastSeen?: number;
}
export interface OccupancyView {
  day: string;
  count: number;
  entered: number;
  exited: number;
}
export interface EstateStateView {
  estate: string;
  updatedAt: number;
  gateways: GatewayView[];
  devices: DeviceView[];
  doors: DoorView[];
  barriers: BarrierView[];
  cameras: CameraView[];
  occupancy: OccupancyView;
}

export interface Today {
  date: string;
  timeZone: string;
  entries: number;
  vehiclesIn: number;
  vehiclesOut: number;
  occupancy: number;
  alertsOpened: number;
  alertsResolved: number;
  medianAckS: number | null;
}

export interface OverviewEstate {
  id: string;
  name?: string | null;
  grid?: string | null;
  street?: string | null;
  gatewaysOnline: number;
  gatewaysTotal: number;
  devicesOffline: number;
  devicesTotal: number;
  openAlerts: Partial<Record<'1' | '2' | '3' | '4', number>>;
}
export interface Overview {
  estates: OverviewEstate[];
  response: { medianAckS: number | null; medianResolveS: number | null; p90AckS: number | null; escalated: number };
}

export interface CommandResultPush {
  id: string;
  estate: string;
  device: string;
  name: string;
  actor?: unknown;
  result: { status: 'ok' | 'error'; code?: string; message?: string };
}
