import type { Database } from 'better-sqlite3';
import type { AlertState } from './types.js';

/**
 * Alert store schema (`{dataDir}/alerts.db`), versioned with `PRAGMA user_version` like
 * hub/registry-schema.ts: each step runs once, in an IMMEDIATE transaction that re-reads the version.
 */
const MIGRATIONS: string[] = [
  // 1: alerts, their transitions, linked events (with snapshots), comments, per-estate settings
  `CREATE TABLE alerts (
     id TEXT PRIMARY KEY,
     estate TEXT NOT NULL,
     gateway TEXT NOT NULL,
     device TEXT NOT NULL,
     rule TEXT NOT NULL,
     key TEXT NOT NULL,
     severity INTEGER NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'escalated', 'resolved')),
     count INTEGER NOT NULL,
     opened_at INTEGER NOT NULL,
     last_at INTEGER NOT NULL,
     ack_at INTEGER,
     ack_by TEXT,
     resolved_at INTEGER,
     resolved_by TEXT,
     resolution TEXT,
     level INTEGER NOT NULL DEFAULT 0,
     notified_at INTEGER,
     assignee TEXT,
     data TEXT NOT NULL
   );
   -- The dedup key: at most one unresolved alert per estate + device + rule + key.
   CREATE UNIQUE INDEX alerts_dedup ON alerts(estate, device, rule, key) WHERE state <> 'resolved';
   CREATE INDEX alerts_list ON alerts(opened_at DESC, id DESC);
   CREATE INDEX alerts_estate ON alerts(estate, opened_at DESC, id DESC);
   CREATE INDEX alerts_unresolved ON alerts(state) WHERE state <> 'resolved';
   CREATE TABLE alert_transitions (
     alert TEXT NOT NULL REFERENCES alerts(id),
     at INTEGER NOT NULL,
     actor TEXT NOT NULL,
     "from" TEXT,
     "to" TEXT NOT NULL,
     note TEXT
   );
   CREATE INDEX alert_transitions_alert ON alert_transitions(alert);
   CREATE TABLE alert_events (
     alert TEXT NOT NULL REFERENCES alerts(id),
     event_id TEXT NOT NULL,
     at INTEGER NOT NULL,
     snapshots TEXT NOT NULL DEFAULT '[]',
     PRIMARY KEY (alert, event_id)
   );
   CREATE INDEX alert_events_event ON alert_events(event_id);
   CREATE TABLE alert_comments (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     alert TEXT NOT NULL REFERENCES alerts(id),
     at INTEGER NOT NULL,
     actor TEXT NOT NULL,
     text TEXT NOT NULL
   );
   CREATE INDEX alert_comments_alert ON alert_comments(alert);
   -- Snapshots that arrived before an alert held their event; picked up by a later raise.
   CREATE TABLE pending_snapshots (
     event_id TEXT NOT NULL,
     sha256 TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (event_id, sha256)
   );
   CREATE INDEX pending_snapshots_at ON pending_snapshots(at);
   CREATE TABLE estate_settings (
     estate TEXT PRIMARY KEY,
     json TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
  // 2: alarms are signed off by a person — the condition-cleared stamp; what happened besides
  // transitions and comments (notifications, repeats, the condition clearing) for the timeline;
  // resolved alerts by resolution time for the history.
  `ALTER TABLE alerts ADD COLUMN cleared_at INTEGER;
   ALTER TABLE alerts ADD COLUMN cleared_event TEXT;
   CREATE TABLE alert_activity (
     alert TEXT NOT NULL REFERENCES alerts(id),
     at INTEGER NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('notified', 'repeat', 'condition-cleared')),
     actor TEXT,
     level INTEGER,
     reason TEXT,
     event_id TEXT,
     count INTEGER
   );
   CREATE INDEX alert_activity_alert ON alert_activity(alert, kind);
   CREATE INDEX alerts_resolved ON alerts(resolved_at DESC, id DESC) WHERE state = 'resolved';`,
];

export const ALERTS_SCHEMA_VERSION = MIGRATIONS.length;

export function migrateAlerts(db: Database): void {
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  if (version() >= ALERTS_SCHEMA_VERSION) return;
  db.transaction(() => {
    for (let v = version(); v < ALERTS_SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}

/** A row of `alerts` as the latest schema has it. */
export type Row = {
  id: string; estate: string; gateway: string; device: string; rule: string; key: string; severity: number;
  state: AlertState; count: number; opened_at: number; last_at: number; ack_at: number | null; ack_by: string | null;
  resolved_at: number | null; resolved_by: string | null; resolution: string | null; level: number;
  notified_at: number | null; assignee: string | null; data: string; cleared_at: number | null; cleared_event: string | null;
};

/** A filter value as SQLite's json_each reads it; null = no filter. */
export const arr = <T>(v: T | readonly T[] | undefined): string | null => (v === undefined ? null : JSON.stringify(Array.isArray(v) ? v : [v]));
