import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The files the release before the hub database wrote for alerts and push: `alerts.db` (schema as
 * hub/alerts/store-schema.ts had it, version 1 or 2) and `push.db`, with a known content, for the
 * import tests. The DDL below is that release's, verbatim.
 */
const OLD_ALERTS_SCHEMA: string[] = [
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

export const OLD_ALERT = '01HZY4A0000000000000000001';
export const OLD_RESOLVED = '01HZY4A0000000000000000002';
export const T0 = 1714550400000;
export const SHA = 'a'.repeat(64);

/** alerts.db of schema `version` (1: as first shipped; 2: the sign-off stamp and the activity table). */
export function writeLegacyAlerts(dataDir: string, version: 1 | 2 = 2): void {
  const db = new Database(join(dataDir, 'alerts.db'));
  db.pragma('journal_mode = WAL');
  for (const step of OLD_ALERTS_SCHEMA.slice(0, version)) db.exec(step);
  db.pragma(`user_version = ${version}`);
  const alert = db.prepare(
    `INSERT INTO alerts (id, estate, gateway, device, rule, key, severity, state, count, opened_at, last_at, ack_at, ack_by, resolved_at, resolved_by, resolution, level, notified_at, assignee, data)
     VALUES (@id, 'maple', 'gw-1', @device, @rule, @key, @severity, @state, @count, @opened, @last, @ack_at, @ack_by, @resolved_at, @resolved_by, @resolution, @level, @notified, @assignee, @data)`,
  );
  alert.run({
    id: OLD_ALERT, device: 'gate-1', rule: 'door.forced', key: 'door:1', severity: 4, state: 'acknowledged', count: 3, opened: T0, last: T0 + 20_000,
    ack_at: T0 + 60_000, ack_by: 'user:01HZY3J8Q0V9W7K5M3N1P2R4S6', resolved_at: null, resolved_by: null, resolution: null, level: 1, notified: T0 + 30_000,
    assignee: 'user:01HZY3J8Q0V9W7K5M3N1P2R4S6', data: JSON.stringify({ door: 1, note: '东门 "forced"' }),
  });
  alert.run({
    id: OLD_RESOLVED, device: 'gate-2', rule: 'door.held', key: 'door:1', severity: 2, state: 'resolved', count: 1, opened: T0 + 1000, last: T0 + 1000,
    ack_at: null, ack_by: null, resolved_at: T0 + 90_000, resolved_by: 'system', resolution: 'cleared', level: 0, notified: null, assignee: null, data: '{}',
  });
  if (version === 2) db.prepare('UPDATE alerts SET cleared_at = ?, cleared_event = ? WHERE id = ?').run(T0 + 70_000, 'E-closed', OLD_ALERT);
  const tr = db.prepare('INSERT INTO alert_transitions (alert, at, actor, "from", "to", note) VALUES (?, ?, ?, ?, ?, ?)');
  tr.run(OLD_ALERT, T0, 'system', null, 'open', null);
  tr.run(OLD_RESOLVED, T0 + 1000, 'system', null, 'open', null);
  tr.run(OLD_ALERT, T0 + 30_000, 'system', 'open', 'escalated', 'level 1');
  tr.run(OLD_ALERT, T0 + 60_000, 'user:01HZY3J8Q0V9W7K5M3N1P2R4S6', 'escalated', 'acknowledged', '马上到');
  tr.run(OLD_RESOLVED, T0 + 90_000, 'system', 'open', 'resolved', 'cleared by event E9');
  const ev = db.prepare('INSERT INTO alert_events (alert, event_id, at, snapshots) VALUES (?, ?, ?, ?)');
  ev.run(OLD_ALERT, 'E-first', T0, JSON.stringify([SHA]));
  ev.run(OLD_RESOLVED, 'E-held', T0 + 1000, '[]');
  ev.run(OLD_ALERT, 'E-second', T0 + 10_000, '[]');
  ev.run(OLD_ALERT, 'E-third', T0 + 20_000, '[]');
  const comment = db.prepare('INSERT INTO alert_comments (id, alert, at, actor, text) VALUES (?, ?, ?, ?, ?)');
  comment.run(3, OLD_ALERT, T0 + 61_000, 'user:01HZY3J8Q0V9W7K5M3N1P2R4S6', '门锁坏了');
  comment.run(7, OLD_ALERT, T0 + 62_000, 'system', 'second');
  db.prepare('INSERT INTO pending_snapshots (event_id, sha256, at) VALUES (?, ?, ?)').run('E-later', SHA, T0 + 5000);
  db.prepare('INSERT INTO estate_settings (estate, json, updated_at) VALUES (?, ?, ?)').run('maple', JSON.stringify({ rules: { 'door.held': { heldS: 45 } } }), T0);
  if (version === 2) {
    const act = db.prepare('INSERT INTO alert_activity (alert, at, kind, actor, level, reason, event_id, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    act.run(OLD_ALERT, T0, 'notified', 'user:a', 0, 'new', null, null);
    act.run(OLD_ALERT, T0 + 10_000, 'repeat', null, null, null, 'E-second', 2);
    act.run(OLD_ALERT, T0 + 20_000, 'repeat', null, null, null, 'E-third', 3);
    act.run(OLD_ALERT, T0 + 70_000, 'condition-cleared', null, null, null, 'E-closed', null);
  }
  db.close();
}

/** push.db as that release left it: two scopes, with the +1,024 jump its restarts made. */
export const OLD_PUSH = [
  { scope: 'estate:maple', seq: 1, at: T0, event: 'event', data: { n: 1 } },
  { scope: 'estate:maple', seq: 2, at: T0 + 1, event: 'alert:new', data: { id: OLD_ALERT } },
  { scope: 'estate:maple', seq: 1027, at: T0 + 2, event: 'alert:update', data: { id: OLD_ALERT, text: '红管家' } },
  { scope: 'user:01HZY3J8Q0V9W7K5M3N1P2R4S6', seq: 1, at: T0 + 3, event: 'alert:notify', data: { level: 0 } },
];
export function writeLegacyPush(dataDir: string): void {
  const db = new Database(join(dataDir, 'push.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE IF NOT EXISTS push_log (
  scope TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  event TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (scope, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS push_log_at ON push_log(at);`);
  const ins = db.prepare('INSERT INTO push_log (scope, seq, at, event, data) VALUES (?, ?, ?, ?, ?)');
  for (const r of OLD_PUSH) ins.run(r.scope, r.seq, r.at, r.event, JSON.stringify(r.data));
  db.close();
}
