import type { Generated } from 'kysely';
import type { AlertState } from '../../alerts/types.js';

/**
 * Tables of the alert store, its per-estate settings and the push replay log (migration
 * `0005_alerts`). Serial `id`s order what SQLite's rowid used to order (transitions, linked events,
 * activity), so both engines read them back in the same order.
 */
export interface AlertsTable {
  id: string;
  estate: string;
  gateway: string;
  device: string;
  rule: string;
  key: string;
  severity: number;
  state: AlertState;
  count: number;
  opened_at: number;
  last_at: number;
  ack_at: number | null;
  ack_by: string | null;
  resolved_at: number | null;
  resolved_by: string | null;
  resolution: string | null;
  level: number;
  notified_at: number | null;
  assignee: string | null;
  data: string;
  cleared_at: number | null;
  cleared_event: string | null;
}

export interface AlertTransitionsTable {
  id: Generated<number>;
  alert: string;
  at: number;
  actor: string;
  from: AlertState | null;
  to: AlertState;
  note: string | null;
}

export interface AlertEventsTable {
  id: Generated<number>;
  alert: string;
  event_id: string;
  at: number;
  /** JSON array of sha256. */
  snapshots: string;
}

export interface AlertCommentsTable {
  id: Generated<number>;
  alert: string;
  at: number;
  actor: string;
  text: string;
}

export interface AlertActivityTable {
  id: Generated<number>;
  alert: string;
  at: number;
  kind: 'notified' | 'repeat' | 'condition-cleared';
  actor: string | null;
  level: number | null;
  reason: string | null;
  event_id: string | null;
  count: number | null;
}

/** Snapshots that arrived before an alert held their event; picked up by a later raise. */
export interface AlertPendingSnapshotsTable {
  event_id: string;
  sha256: string;
  at: number;
}

export interface AlertSettingsTable {
  estate: string;
  /** The stored (partial) override, JSON. */
  json: string;
  updated_at: number;
}

/** One logged push envelope: per-scope sequence, no gaps, continued from the committed max after a restart. */
export interface PushLogTable {
  scope: string;
  seq: number;
  at: number;
  event: string;
  /** JSON. */
  data: string;
}

export interface AlertsSchema {
  alerts: AlertsTable;
  alert_transitions: AlertTransitionsTable;
  alert_events: AlertEventsTable;
  alert_comments: AlertCommentsTable;
  alert_activity: AlertActivityTable;
  alert_pending_snapshots: AlertPendingSnapshotsTable;
  alert_settings: AlertSettingsTable;
  push_log: PushLogTable;
}
