/**
 * The REST views the screens read (web/src imports these with `import type` only; docs/alerts.md
 * describes the same contract). Plain types: the hub validates its inputs with zod where it parses them
 * (hub/api), and builds these outputs in its view builders (hub/alerts/service.ts alertView,
 * hub/state/views.ts). Nothing here may import Node or hub code: the browser bundle is built from it.
 */
export type { ErrorBody, ErrorCode } from './errors.js';

/** The four roles, declared once (hub/people/scopes.ts builds its zod enum from this list). */
export const ROLES = ['volunteer', 'patrol', 'center', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** `GET /api/v1/me`, and the `user` of a login or refresh answer. */
export interface User {
  id: string;
  name: string;
  displayName?: string | null;
  role: Role;
  scopes?: string[];
}

/** `GET /api/v1/users` (admin): what an admin may see of a user (no hash). */
export interface AdminUser {
  id: string;
  name: string;
  displayName: string | null;
  role: Role;
  scopes: string[];
  disabled: boolean;
  createdAt: number;
}

/** `POST /api/v1/auth/login` and `POST /api/v1/auth/refresh`. */
export interface LoginResponse {
  token: string;
  expiresAt: number | string;
  /** Lives longer than the token; POST /api/v1/auth/refresh {refreshToken} renews both. */
  refreshToken?: string;
  refreshExpiresAt?: number | string;
  user: User;
}
export type RefreshResponse = LoginResponse;

/** `GET /api/v1/me`: who the token belongs to (the hub's API token is `kind: 'system'`) and its estates. */
export interface Me {
  user: User & { kind: 'user' | 'system' };
  estates: EstateRef[];
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
  /** 1 (most urgent) to 4; the hub's rules set it (hub/alerts/rules.ts). */
  severity: Severity | number;
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
  /** The estate's name (e.g. 枫林苑). */
  estateName?: string;
  /** When the alarm's condition cleared (the door closed) while nobody has resolved it yet (ms). */
  conditionClearedAt?: number;
  resolution?: string;
  level?: number;
  assignee?: string;
  assigneeName?: string;
  events?: string[];
  snapshots?: SnapshotRef[];
  data?: Record<string, unknown>;
  seq?: number;
}

export type TimelineKind = 'raised' | 'repeat' | 'notified' | 'acknowledged' | 'escalated' | 'assigned' | 'comment' | 'condition-cleared' | 'resolved';

export interface TimelineEntry {
  at: number;
  kind: TimelineKind | string;
  actor?: string;
  actorName?: string;
  level?: number;
  note?: string;
  /** Comment text; for `assigned`, the assignee's name (absent when unassigned). */
  text?: string;
  eventId?: string;
  /** Why a notification went out: new, escalated, renotify. */
  reason?: string;
  /** For `repeat`: the alert's count after it. */
  count?: number;
  /** For `assigned`: `user:<id>`, or null when unassigned. */
  assignee?: string | null;
}

export interface LinkedEvent {
  id: string;
  type: string;
  ts: number;
  device: string;
  deviceName?: string;
  data?: Record<string, unknown>;
}

/** `GET /api/v1/alerts/:id`: the alert with what happened to it. */
export interface AlertDetail extends Alert {
  timeline?: TimelineEntry[];
  /** Repeats the timeline leaves out (the hub keeps the latest ones). */
  repeatsOmitted?: number;
  linkedEvents?: LinkedEvent[];
  /** Who was told off-screen, how, when, and whether it arrived (hub/notify); absent from older hubs. */
  notifications?: AlertNotification[];
  /** Older hubs: transitions and comments instead of a timeline. */
  transitions?: Array<{ at: number; actor?: string; from?: string | null; to: string; note?: string | null }>;
  comments?: Array<{ id?: string | number; at: number; actor?: string; actorName?: string; text: string }>;
}

/**
 * One off-screen notification of an alert (`GET /api/v1/alerts/:id/notifications`, and the detail's
 * `notifications`). The address is masked; `atEdge`: sent by the gateway's own modem while the hub was
 * unreachable.
 */
export interface AlertNotification {
  id: string;
  alertId: string;
  level: number;
  userId: string | null;
  userName: string | null;
  channelId: string;
  channelType: string;
  to: string;
  state: 'queued' | 'sending' | 'sent' | 'delivered' | 'failed' | 'skipped';
  attempts: number;
  queuedAt: number;
  sentAt: number | null;
  deliveredAt: number | null;
  providerId: string | null;
  error: { code: string; message: string } | null;
  atEdge: boolean;
}

/** `GET /api/v1/alerts/history`: resolved alerts by day (the hub's time zone), newest day first. */
export interface HistoryPage {
  from: number;
  to: number;
  timeZone: string;
  days: Array<{ day: string; counts: Record<string, number>; items: Alert[] }>;
  next?: string | null;
}

/** A shift hand-over note as the hub sends it (`POST /api/v1/roster/handover`, push `handover:new`, `lastHandover`). */
export interface Handover {
  id: string;
  estate: string;
  /** `user:<id>` (or `system` for the hub's API token). */
  from: string;
  fromName: string;
  note: string;
  at: number;
  to: OnDutyUser[];
}

export interface Page<T> {
  items: T[];
  next?: string | null;
}

/** Someone on duty (`GET /api/v1/roster/on-duty`, `/roster/handover`). */
export interface OnDutyUser {
  id: string;
  name: string;
  displayName?: string | null;
}
/** `GET /api/v1/roster/on-duty?estate=E`. */
export interface OnDuty {
  estate: string;
  at: number;
  timeZone: string;
  onDuty: OnDutyUser[];
  next: { at: number; users: OnDutyUser[] } | null;
}
/** Someone who covers the estate (`GET /api/v1/roster/people?estate=E`, center and admin). */
export interface RosterPerson extends OnDutyUser {
  role: Role;
}
/** A weekly shift (`/api/v1/roster/shifts`): `weekday` 1 (Monday) to 7, `start`/`end` as HH:MM in the hub's time zone. */
export interface Shift {
  id: string;
  user: string;
  estate: string;
  weekday: number;
  start: string;
  end: string;
}
/** `off` removes duty in [from, to), `on` adds it (ms since epoch) (`/api/v1/roster/exceptions`). */
export interface RosterException {
  id: string;
  user: string;
  estate: string;
  from: number;
  to: number;
  kind: 'off' | 'on';
}
/** `GET /api/v1/roster/handover?estate=E`: who is on duty, the open alerts and the last hand-over note. */
export interface HandoverView extends OnDuty {
  alerts: Alert[];
  lastHandover?: Handover | null;
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
  kind?: 'access-gate' | 'barrier-gate' | 'onvif-camera' | (string & {});
  online: boolean | null;
  since: number;
  lastSeen?: number;
  reason?: string;
  /** The device answers but refuses the gateway's credentials (shown at once, before the offline delay). */
  condition?: 'auth-failed';
  error?: string;
  info?: { manufacturer?: string; model?: string; firmware?: string; serial?: string };
  warnings?: Array<{ code: string; message: string; since: number }>;
  /** Cameras the gateway's config links to this device (its alarms come with their snapshots). */
  cameras?: string[];
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

/** `GET /api/v1/estates/:estate/today`: today's figures in the hub's time zone. */
export interface Today {
  estate: string;
  date: string;
  timeZone: string;
  entries: number;
  vehiclesIn: number;
  vehiclesOut: number;
  /** Null when the hub has no live state of the estate. */
  occupancy: number | null;
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
  doorsForced?: number;
  /** A gateway of the estate reports its outbox under pressure. */
  pressure?: boolean;
  /** Open alerts by severity. */
  openAlerts?: Partial<Record<'1' | '2' | '3' | '4', number>>;
}
/** `GET /api/v1/overview`: every estate in the caller's scope, and the response times of the last 7 days. */
export interface Overview {
  estates: OverviewEstate[];
  /** The streets of these estates, by name. */
  streets?: Array<{ id: string; name?: string | null }>;
  response: { medianAckS: number | null; medianResolveS: number | null; p90AckS: number | null; escalated: number };
}

