/**
 * The shapes the screens read. The contract is protocol/api.ts (REST) and protocol/live.ts (Socket.IO),
 * shared with the hub; the screens `import type` it only, so the browser bundle pulls in no server code
 * (eslint.config.js enforces it; scripts/build-web.mjs checks the bundle).
 */
export type {
  AdminUser,
  Alert,
  AlertDetail,
  AlertNotification,
  AlertState,
  BarrierView,
  CameraView,
  ChangeKind,
  DeviceView,
  DoorView,
  ErrorBody,
  ErrorCode,
  EstateRef,
  EstateStateView,
  GatewayView,
  Handover,
  HandoverView,
  HistoryPage,
  LinkedEvent,
  LoginResponse,
  Me,
  OccupancyView,
  OnDuty,
  OnDutyUser,
  Overview,
  OverviewEstate,
  Page,
  Role,
  RosterException,
  RosterPerson,
  Shift,
  Severity,
  SnapshotRef,
  StateChange,
  TimelineEntry,
  TimelineKind,
  Today,
  User,
} from '../../protocol/api.js';
export type { AlertNotify, CommandResultPush, Envelope, LiveEvent as RbEvent, LiveEventName, LivePayload, SnapshotLink } from '../../protocol/live.js';

/**
 * A hand-over note as the phone shows it: read tolerantly from the hub's `Handover` (POST answer,
 * `handover:new`, `lastHandover`) by web/src/views/phone-handover.tsx `toNote`.
 */
export interface HandoverNote {
  id?: string;
  estate: string;
  at: number;
  note: string;
  by?: string;
  byName?: string;
  /** Names of who was on duty next when it was handed over. */
  to?: string[];
}
