import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { monotonicFactory } from 'ulid';
import { RbError } from '../errors.js';
import type { ClearAction, RaiseAction } from './rules.js';
import { DEFAULT_SETTINGS, resolveSettings, type AlertSettings } from './settings.js';
import { createActivityLog } from './store-activity.js';
import { createReports, type AlertReports } from './store-reports.js';
import { arr, migrateAlerts, type Row } from './store-schema.js';
import type { Alert, AlertComment, AlertDetail, AlertQuery, AlertState, Change, EscalationCandidate } from './types.js';

/**
 * Alerts and their lifecycle in SQLite (`{dataDir}/alerts.db`, WAL). Every write is one transaction;
 * transitions are idempotent (repeating one returns the alert with `changed: false`), impossible ones
 * throw RB_ERR_ALERT_STATE (409). The dedup key (estate + device + rule + key among unresolved alerts)
 * is also a partial unique index, so the database itself refuses a second open alert per key.
 */

export type { AlertStats } from './store-reports.js';
export type { Alert, AlertActivity, AlertComment, AlertDetail, AlertQuery, AlertState, Change, EscalationCandidate, HistoryQuery, Transition } from './types.js';

export interface AlertStore extends AlertReports {
  /** Open an alert, or count a repeat on the unresolved one with the same key (an event already linked is ignored). */
  raise(action: RaiseAction): { alert: Alert; created: boolean; changed: boolean };
  /**
   * The condition of the unresolved alert with the action's key cleared; null when there is none.
   * `resolve` (default true): resolve it by `system`, resolution "cleared". `resolve: false`: stamp
   * `conditionClearedAt` (once; a repeat removes the stamp) and leave it for a person.
   */
  clear(action: Pick<ClearAction, 'estate' | 'device' | 'rule' | 'key' | 'at' | 'eventId'> & { resolve?: boolean }): Change | null;
  acknowledge(id: string, actor: string, note?: string, at?: number): Change;
  /** Record a notification at `level`: a higher level moves the alert to `escalated`; the same level stamps notifiedAt only. */
  escalate(id: string, level: number, at: number): Change;
  /** Record who was notified (`user:<id>` each) at `level`, and why, for the timeline. */
  notified(id: string, n: { at: number; level: number; reason: string; actors: readonly string[] }): void;
  resolve(id: string, actor: string, note: string, at?: number): Change;
  /** Assign to a user (`user:<id>`), or unassign with null. */
  assign(id: string, assignee: string | null, actor: string, at?: number): Change;
  comment(id: string, actor: string, text: string, at?: number): AlertComment;
  /** Link a snapshot to the alerts holding its event; kept for an hour for a raise still to come. Returns the alerts changed. */
  linkSnapshot(eventId: string, sha256: string, at?: number): Alert[];
  get(id: string): AlertDetail | undefined;
  /** Newest first (opened_at, then id), or by severity then age; `next` is the cursor of the following page or null. */
  list(query: AlertQuery): { items: Alert[]; next: string | null };
  /** Unresolved alerts of an estate, oldest first (hand-over list; at most 1,000). */
  openAlerts(estate: string): Alert[];
  /** Open and escalated (unacknowledged) alerts opened at or before `now`, oldest first. */
  dueForEscalation(now: number): EscalationCandidate[];
  /** The estate's resolved settings (defaults when none are stored). */
  settings(estate: string): AlertSettings;
  /** Validate and store an estate's settings override (replaces the previous one); returns them resolved. */
  saveSettings(estate: string, input: unknown, at?: number): AlertSettings;
  close(): void;
}

const MAX_EVENTS = 100;
const MAX_SNAPSHOTS_PER_EVENT = 16;
const PENDING_MS = 3_600_000;
const PENDING_MAX = 10_000;
const ACTOR = /^(system|user:[^\s]{1,128})$/;

type EventRow = { alert: string; event_id: string; snapshots: string };

function checkActor(actor: string): void {
  if (!ACTOR.test(actor)) throw new RbError('RB_ERR_BAD_BODY', `actor must be "system" or "user:<id>", got ${JSON.stringify(actor)}`);
}

/** Open (creating and migrating) `{dataDir}/alerts.db`. */
export function openAlertStore(dataDir: string): AlertStore {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'alerts.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrateAlerts(db);
  const newId = monotonicFactory();
  const settingsCache = new Map<string, AlertSettings>();
  const activity = createActivityLog(db);

  const q = {
    byId: db.prepare<[string], Row>('SELECT * FROM alerts WHERE id = ?'),
    byKey: db.prepare<[string, string, string, string], Row>(
      "SELECT * FROM alerts WHERE estate = ? AND device = ? AND rule = ? AND key = ? AND state <> 'resolved'",
    ),
    insert: db.prepare(
      `INSERT INTO alerts (id, estate, gateway, device, rule, key, severity, state, count, opened_at, last_at, level, data)
       VALUES (@id, @estate, @gateway, @device, @rule, @key, @severity, 'open', 1, @at, @at, 0, @data)`,
    ),
    // A repeat: the condition is back, so a condition-cleared stamp no longer holds.
    repeat: db.prepare(
      'UPDATE alerts SET count = count + 1, last_at = MAX(last_at, @at), severity = MAX(severity, @severity), gateway = @gateway, data = @data, cleared_at = NULL, cleared_event = NULL WHERE id = @id',
    ),
    stamp: db.prepare('UPDATE alerts SET cleared_at = ?, cleared_event = ? WHERE id = ? AND cleared_at IS NULL'),
    transition: db.prepare('INSERT INTO alert_transitions (alert, at, actor, "from", "to", note) VALUES (?, ?, ?, ?, ?, ?)'),
    eventsOf: db.prepare<[string], EventRow>('SELECT alert, event_id, snapshots FROM alert_events WHERE alert IN (SELECT value FROM json_each(?)) ORDER BY rowid'),
    linked: db.prepare<[string, string], { n: number }>('SELECT 1 AS n FROM alert_events WHERE alert = ? AND event_id = ?'),
    link: db.prepare('INSERT OR IGNORE INTO alert_events (alert, event_id, at, snapshots) VALUES (?, ?, ?, ?)'),
    eventCount: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM alert_events WHERE alert = ?'),
    // Keep the first (triggering) event and the newest ones: drop the second oldest.
    trimEvents: db.prepare('DELETE FROM alert_events WHERE rowid = (SELECT rowid FROM alert_events WHERE alert = ? ORDER BY rowid LIMIT 1 OFFSET 1)'),
    byEvent: db.prepare<[string], { alert: string; snapshots: string }>('SELECT alert, snapshots FROM alert_events WHERE event_id = ?'),
    setSnapshots: db.prepare('UPDATE alert_events SET snapshots = ? WHERE alert = ? AND event_id = ?'),
    pendingOf: db.prepare<[string], { sha256: string }>('SELECT sha256 FROM pending_snapshots WHERE event_id = ? ORDER BY at'),
    dropPending: db.prepare('DELETE FROM pending_snapshots WHERE event_id = ?'),
    addPending: db.prepare('INSERT OR IGNORE INTO pending_snapshots (event_id, sha256, at) VALUES (?, ?, ?)'),
    prunePending: db.prepare(
      'DELETE FROM pending_snapshots WHERE at < ? OR rowid IN (SELECT rowid FROM pending_snapshots ORDER BY at DESC LIMIT -1 OFFSET ?)',
    ),
    transitionsOf: db.prepare<[string], { at: number; actor: string; from: AlertState | null; to: AlertState; note: string | null }>(
      'SELECT at, actor, "from", "to", note FROM alert_transitions WHERE alert = ? ORDER BY rowid',
    ),
    commentsOf: db.prepare<[string], AlertComment>('SELECT id, at, actor, text FROM alert_comments WHERE alert = ? ORDER BY id'),
    addComment: db.prepare('INSERT INTO alert_comments (alert, at, actor, text) VALUES (?, ?, ?, ?)'),
    list: db.prepare<Record<string, unknown>, Row>(
      `SELECT * FROM alerts
       WHERE estate IN (SELECT value FROM json_each(@estates))
         AND (@states IS NULL OR state IN (SELECT value FROM json_each(@states)))
         AND (@severities IS NULL OR severity IN (SELECT value FROM json_each(@severities)))
         AND (@rules IS NULL OR rule IN (SELECT value FROM json_each(@rules)))
         AND (@bAt IS NULL OR opened_at < @bAt OR (opened_at = @bAt AND id < @bId))
       ORDER BY opened_at DESC, id DESC LIMIT @limit`,
    ),
    // Severity first (highest), then the longest waiting; the cursor continues after (severity, opened_at, id).
    listBySeverity: db.prepare<Record<string, unknown>, Row>(
      `SELECT * FROM alerts
       WHERE estate IN (SELECT value FROM json_each(@estates))
         AND (@states IS NULL OR state IN (SELECT value FROM json_each(@states)))
         AND (@severities IS NULL OR severity IN (SELECT value FROM json_each(@severities)))
         AND (@rules IS NULL OR rule IN (SELECT value FROM json_each(@rules)))
         AND (@bAt IS NULL OR severity < @bSev OR (severity = @bSev AND (opened_at > @bAt OR (opened_at = @bAt AND id > @bId))))
       ORDER BY severity DESC, opened_at ASC, id ASC LIMIT @limit`,
    ),
    open: db.prepare<[string], Row>("SELECT * FROM alerts WHERE estate = ? AND state <> 'resolved' ORDER BY opened_at, id LIMIT 1000"),
    due: db.prepare<[number], { id: string; estate: string; severity: number; state: 'open' | 'escalated'; level: number; opened_at: number; notified_at: number | null }>(
      "SELECT id, estate, severity, state, level, opened_at, notified_at FROM alerts WHERE state IN ('open', 'escalated') AND opened_at <= ? ORDER BY opened_at, id",
    ),
    settings: db.prepare<[string], { json: string }>('SELECT json FROM estate_settings WHERE estate = ?'),
    saveSettings: db.prepare(
      'INSERT INTO estate_settings (estate, json, updated_at) VALUES (?, ?, ?) ON CONFLICT(estate) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at',
    ),
  };

  /** Rows → alerts, with their events and snapshots in one query. */
  function toAlerts(rows: Row[]): Alert[] {
    if (rows.length === 0) return [];
    const events = new Map<string, EventRow[]>();
    for (const e of q.eventsOf.all(JSON.stringify(rows.map((r) => r.id)))) {
      let list = events.get(e.alert);
      if (!list) events.set(e.alert, (list = []));
      list.push(e);
    }
    return rows.map((r) => {
      const evs = events.get(r.id) ?? [];
      const a: Alert = {
        id: r.id, estate: r.estate, gateway: r.gateway, device: r.device, rule: r.rule, key: r.key,
        severity: r.severity, state: r.state, count: r.count, openedAt: r.opened_at, lastAt: r.last_at, level: r.level,
        events: evs.map((e) => e.event_id),
        snapshots: evs.flatMap((e) => (JSON.parse(e.snapshots) as string[]).map((sha256) => ({ sha256, eventId: e.event_id }))),
        data: JSON.parse(r.data) as Record<string, unknown>,
      };
      if (r.ack_at !== null) a.acknowledgedAt = r.ack_at;
      if (r.ack_by !== null) a.acknowledgedBy = r.ack_by;
      if (r.resolved_at !== null) a.resolvedAt = r.resolved_at;
      if (r.resolved_by !== null) a.resolvedBy = r.resolved_by;
      if (r.resolution !== null) a.resolution = r.resolution;
      if (r.notified_at !== null) a.notifiedAt = r.notified_at;
      if (r.assignee !== null) a.assignee = r.assignee;
      if (r.cleared_at !== null) a.conditionClearedAt = r.cleared_at;
      if (r.cleared_event !== null) a.conditionClearedEvent = r.cleared_event;
      return a;
    });
  }
  const alertOf = (id: string): Alert => toAlerts([rowOf(id)])[0]!;
  const reports = createReports(db, toAlerts);
  function rowOf(id: string): Row {
    const row = q.byId.get(id);
    if (!row) throw new RbError('RB_ERR_NOT_FOUND', `no alert ${JSON.stringify(id)}`);
    return row;
  }

  const mergeShas = (a: string[], b: readonly string[]): string[] => [...new Set([...a, ...b])].slice(0, MAX_SNAPSHOTS_PER_EVENT);

  function linkEvent(alert: string, eventId: string, at: number, snapshots: readonly string[]): void {
    const pending = q.pendingOf.all(eventId).map((p) => p.sha256);
    if (pending.length) q.dropPending.run(eventId);
    q.link.run(alert, eventId, at, JSON.stringify(mergeShas([...snapshots], pending)));
    if (q.eventCount.get(alert)!.n > MAX_EVENTS) q.trimEvents.run(alert);
  }

  /** Apply a state change in one transaction: `next` returns the columns to set, or null for "no change". */
  const updates = new Map<string, Database.Statement>();
  function transition(id: string, actor: string, note: string | undefined, at: number, next: (r: Row) => Partial<Row> | null): Change {
    checkActor(actor);
    return db.transaction((): Change => {
      const row = rowOf(id);
      const set = next(row);
      if (!set) return { alert: toAlerts([row])[0]!, changed: false };
      // Column names come from this file, never from input.
      const cols = Object.keys(set).join(',');
      let update = updates.get(cols);
      if (!update) updates.set(cols, (update = db.prepare(`UPDATE alerts SET ${cols.split(',').map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`)));
      update.run({ ...set, id });
      q.transition.run(id, at, actor, row.state, set.state ?? row.state, note ?? null);
      return { alert: alertOf(id), changed: true };
    }).immediate();
  }

  const store: AlertStore = {
    raise(action) {
      return db.transaction(() => {
        const cur = q.byKey.get(action.estate, action.device, action.rule, action.key);
        const snapshots = action.snapshots ?? [];
        if (cur) {
          if (action.eventId && q.linked.get(cur.id, action.eventId)) return { alert: toAlerts([cur])[0]!, created: false, changed: false };
          const data = JSON.stringify({ ...(JSON.parse(cur.data) as object), ...action.data });
          q.repeat.run({ id: cur.id, at: action.at, severity: action.severity, gateway: action.gateway, data });
          activity.repeat(cur.id, action.at, cur.count + 1, action.eventId);
          if (action.eventId) linkEvent(cur.id, action.eventId, action.at, snapshots);
          return { alert: alertOf(cur.id), created: false, changed: true };
        }
        const id = newId(action.at);
        q.insert.run({ ...action, id, data: JSON.stringify(action.data) });
        q.transition.run(id, action.at, 'system', null, 'open', null);
        if (action.eventId) linkEvent(id, action.eventId, action.at, snapshots);
        return { alert: alertOf(id), created: true, changed: true };
      }).immediate();
    },

    clear(action) {
      const cur = q.byKey.get(action.estate, action.device, action.rule, action.key);
      if (!cur) return null;
      if (action.resolve === false) {
        return db.transaction((): Change => {
          const stamped = q.stamp.run(action.at, action.eventId ?? null, cur.id).changes > 0;
          if (stamped) activity.conditionCleared(cur.id, action.at, action.eventId);
          return { alert: alertOf(cur.id), changed: stamped };
        }).immediate();
      }
      const note = action.eventId ? `cleared by event ${action.eventId}` : 'cleared';
      return transition(cur.id, 'system', note, action.at, (r) =>
        r.state === 'resolved' ? null : { state: 'resolved', resolved_at: action.at, resolved_by: 'system', resolution: 'cleared' },
      );
    },

    acknowledge(id, actor, note, at = Date.now()) {
      return transition(id, actor, note, at, (r) => {
        if (r.state === 'acknowledged') return null;
        if (r.state === 'resolved') throw new RbError('RB_ERR_ALERT_STATE', `alert ${id} is resolved; it cannot be acknowledged`);
        return { state: 'acknowledged', ack_at: at, ack_by: actor };
      });
    },

    escalate(id, level, at) {
      if (!Number.isInteger(level) || level < 0 || level > 3) throw new RbError('RB_ERR_BAD_BODY', `escalation level must be 0..3, got ${level}`);
      return db.transaction((): Change => {
        const row = rowOf(id);
        if (row.state === 'acknowledged' || row.state === 'resolved') return { alert: toAlerts([row])[0]!, changed: false };
        if (level <= row.level) {
          db.prepare('UPDATE alerts SET notified_at = ? WHERE id = ?').run(at, id);
          return { alert: alertOf(id), changed: false };
        }
        return transition(id, 'system', `level ${level}`, at, () => ({ state: 'escalated', level, notified_at: at }));
      }).immediate();
    },

    notified(id, n) {
      for (const actor of n.actors) checkActor(actor);
      db.transaction(() => activity.notified(id, n.at, n.level, n.reason, n.actors)).immediate();
    },

    resolve(id, actor, note, at = Date.now()) {
      if (typeof note !== 'string' || note.trim() === '') throw new RbError('RB_ERR_BAD_BODY', 'a resolution note is required');
      return transition(id, actor, note, at, (r) =>
        r.state === 'resolved' ? null : { state: 'resolved', resolved_at: at, resolved_by: actor, resolution: note.slice(0, 2000) },
      );
    },

    assign(id, assignee, actor, at = Date.now()) {
      if (assignee !== null) checkActor(assignee);
      return transition(id, actor, `assigned ${assignee ?? 'nobody'}`, at, (r) => {
        if (r.state === 'resolved') throw new RbError('RB_ERR_ALERT_STATE', `alert ${id} is resolved; it cannot be assigned`);
        return r.assignee === assignee ? null : { assignee };
      });
    },

    comment(id, actor, text, at = Date.now()) {
      checkActor(actor);
      if (typeof text !== 'string' || text.trim() === '' || text.length > 2000) throw new RbError('RB_ERR_BAD_BODY', 'a comment is 1..2000 characters');
      rowOf(id);
      const info = q.addComment.run(id, at, actor, text);
      return { id: Number(info.lastInsertRowid), at, actor, text };
    },

    linkSnapshot(eventId, sha256, at = Date.now()) {
      return db.transaction(() => {
        const links = q.byEvent.all(eventId);
        if (links.length === 0) {
          q.addPending.run(eventId, sha256, at);
          q.prunePending.run(at - PENDING_MS, PENDING_MAX);
          return [];
        }
        const changed: string[] = [];
        for (const l of links) {
          const shas = JSON.parse(l.snapshots) as string[];
          if (shas.includes(sha256) || shas.length >= MAX_SNAPSHOTS_PER_EVENT) continue;
          q.setSnapshots.run(JSON.stringify([...shas, sha256]), l.alert, eventId);
          changed.push(l.alert);
        }
        return changed.map(alertOf);
      }).immediate();
    },

    get(id) {
      const row = q.byId.get(id);
      if (!row) return undefined;
      const transitions = q.transitionsOf.all(id).map((t) => ({ at: t.at, actor: t.actor, from: t.from, to: t.to, ...(t.note !== null ? { note: t.note } : {}) }));
      return { ...toAlerts([row])[0]!, transitions, comments: q.commentsOf.all(id), activity: activity.of(id) };
    },

    list(query) {
      const limit = query.limit ?? 50;
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new RbError('RB_ERR_BAD_QUERY', 'limit must be 1..500');
      let bAt: number | null = null;
      let bId: string | null = null;
      let bSev: number | null = null;
      if (query.before !== undefined) {
        const b = q.byId.get(query.before);
        if (!b) throw new RbError('RB_ERR_BAD_QUERY', 'unknown cursor');
        [bAt, bId, bSev] = [b.opened_at, b.id, b.severity];
      }
      const rows = (query.sort === 'severity' ? q.listBySeverity : q.list).all({
        estates: JSON.stringify(query.estates), states: arr(query.state), severities: arr(query.severity), rules: arr(query.rule),
        bAt, bId, limit: limit + 1, ...(query.sort === 'severity' ? { bSev } : {}),
      });
      const more = rows.length > limit;
      const items = toAlerts(rows.slice(0, limit));
      return { items, next: more ? items[items.length - 1]!.id : null };
    },

    ...reports,

    openAlerts: (estate) => toAlerts(q.open.all(estate)),

    dueForEscalation: (now) =>
      q.due.all(now).map((r) => ({ id: r.id, estate: r.estate, severity: r.severity, state: r.state, level: r.level, openedAt: r.opened_at, notifiedAt: r.notified_at })),

    settings(estate) {
      let s = settingsCache.get(estate);
      if (!s) {
        const row = q.settings.get(estate);
        s = row ? resolveSettings(JSON.parse(row.json)) : DEFAULT_SETTINGS;
        settingsCache.set(estate, s);
      }
      return s;
    },

    saveSettings(estate, input, at = Date.now()) {
      const s = resolveSettings(input);
      q.saveSettings.run(estate, JSON.stringify(input ?? {}), at);
      settingsCache.set(estate, s);
      return s;
    },

    close: () => db.close(),
  };
  return store;
}
