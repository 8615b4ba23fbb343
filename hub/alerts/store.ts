import { sql } from 'kysely';
import type { Kysely, Updateable } from 'kysely';
import { monotonicFactory } from 'ulid';
import { RbError } from '../errors.js';
import type { HubDatabase, Schema } from '../platform/db/index.js';
import type { AlertsTable } from '../platform/db/schema-alerts.js';
import type { ClearAction, RaiseAction } from './rules.js';
import { DEFAULT_SETTINGS, resolveSettings, type AlertSettings } from './settings.js';
import { createActivityLog } from './store-activity.js';
import { alertOf, byKey, listAlerts, rowById, rowOf, toAlertsOn } from './store-read.js';
import { createReports, type AlertReports, type Row } from './store-reports.js';
import type { Alert, AlertComment, AlertDetail, AlertQuery, AlertState, Change, EscalationCandidate } from './types.js';

/**
 * Alerts and their lifecycle in the hub database (tables `alerts`, `alert_*`; hub/platform/db), the
 * same queries on SQLite and PostgreSQL. Every write is one transaction, or runs in the caller's
 * (`trx`: the outbox of hub/alerts/service.ts commits a transition with its audit entry and its push
 * messages); transitions are idempotent (repeating one returns the alert with `changed: false`),
 * impossible ones throw RB_ERR_ALERT_STATE (409). The dedup key (estate + device + rule + key among
 * unresolved alerts) is also a partial unique index, so the database itself refuses a second open
 * alert per key. Writers are expected one at a time (the service runs them through the push log's
 * writer); reads run beside them.
 */

export type { AlertStats } from './store-reports.js';
export type { Alert, AlertActivity, AlertComment, AlertDetail, AlertQuery, AlertState, Change, EscalationCandidate, HistoryQuery, Transition } from './types.js';

/** A transaction of the hub database to write in; absent = the store opens its own. */
export type Trx = Kysely<Schema>;

export interface AlertStore extends AlertReports {
  /** Read the stored settings of every estate (once, before the first `settings()`; the hub's start). */
  load(): Promise<void>;
  /** Open an alert, or count a repeat on the unresolved one with the same key (an event already linked is ignored). */
  raise(action: RaiseAction, trx?: Trx): Promise<{ alert: Alert; created: boolean; changed: boolean }>;
  /**
   * The condition of the unresolved alert with the action's key cleared; null when there is none.
   * `resolve` (default true): resolve it by `system`, resolution "cleared". `resolve: false`: stamp
   * `conditionClearedAt` (once; a repeat removes the stamp) and leave it for a person.
   */
  clear(action: Pick<ClearAction, 'estate' | 'device' | 'rule' | 'key' | 'at' | 'eventId'> & { resolve?: boolean }, trx?: Trx): Promise<Change | null>;
  acknowledge(id: string, actor: string, note?: string, at?: number, trx?: Trx): Promise<Change>;
  /** Record a notification at `level`: a higher level moves the alert to `escalated`; the same level stamps notifiedAt only. */
  escalate(id: string, level: number, at: number, trx?: Trx): Promise<Change>;
  /** Record who was notified (`user:<id>` each) at `level`, and why, for the timeline. */
  notified(id: string, n: { at: number; level: number; reason: string; actors: readonly string[] }, trx?: Trx): Promise<void>;
  resolve(id: string, actor: string, note: string, at?: number, trx?: Trx): Promise<Change>;
  /** Assign to a user (`user:<id>`), or unassign with null. */
  assign(id: string, assignee: string | null, actor: string, at?: number, trx?: Trx): Promise<Change>;
  comment(id: string, actor: string, text: string, at?: number, trx?: Trx): Promise<AlertComment>;
  /** Link a snapshot to the alerts holding its event; kept for an hour for a raise still to come. Returns the alerts changed. */
  linkSnapshot(eventId: string, sha256: string, at?: number, trx?: Trx): Promise<Alert[]>;
  /** The alert with its timeline; `trx` reads what that transaction wrote. */
  get(id: string, trx?: Trx): Promise<AlertDetail | undefined>;
  /** Newest first (opened_at, then id), or by severity then age; `next` is the cursor of the following page or null. */
  list(query: AlertQuery): Promise<{ items: Alert[]; next: string | null }>;
  /** Unresolved alerts of an estate, oldest first (hand-over list; at most 1,000). */
  openAlerts(estate: string): Promise<Alert[]>;
  /** Open and escalated (unacknowledged) alerts opened at or before `now`, oldest first. */
  dueForEscalation(now: number): Promise<EscalationCandidate[]>;
  /** The estate's resolved settings (defaults when none are stored); from memory, read by `load()`. */
  settings(estate: string): AlertSettings;
  /** Validate and store an estate's settings override (replaces the previous one); returns them resolved. */
  saveSettings(estate: string, input: unknown, at?: number): Promise<AlertSettings>;
}

const MAX_EVENTS = 100;
const MAX_SNAPSHOTS_PER_EVENT = 16;
const PENDING_MS = 3_600_000;
const PENDING_MAX = 10_000;
const ACTOR = /^(system|user:[^\s]{1,128})$/;

function checkActor(actor: string): void {
  if (!ACTOR.test(actor)) throw new RbError('RB_ERR_BAD_BODY', `actor must be "system" or "user:<id>", got ${JSON.stringify(actor)}`);
}

/** PostgreSQL NOTIFY channel of a changed estate's alert settings (payload: the estate). */
export const SETTINGS_CHANNEL = 'rb_alert_settings';

export interface AlertStoreDeps {
  db: HubDatabase;
}

/** The alert store on the hub database. No I/O until called (`load()` at the hub's start). */
export function createAlertStore({ db: hubDb }: AlertStoreDeps): AlertStore {
  const { db } = hubDb;
  const newId = monotonicFactory();
  const settingsCache = new Map<string, AlertSettings>();
  const activity = createActivityLog();
  /** Run `fn` in the caller's transaction, or in one of its own. */
  const inTrx = <T>(trx: Trx | undefined, fn: (t: Trx) => Promise<T>): Promise<T> => (trx ? fn(trx) : hubDb.transaction(fn));

  const toAlerts = (rows: Row[]): Promise<Alert[]> => toAlertsOn(db, rows);
  const reports = createReports(db, toAlerts);

  const addTransition = (exec: Trx, alert: string, at: number, actor: string, from: AlertState | null, to: AlertState, note: string | null) =>
    exec.insertInto('alert_transitions').values({ alert, at, actor, from, to, note }).execute();

  const mergeShas = (a: string[], b: readonly string[]): string[] => [...new Set([...a, ...b])].slice(0, MAX_SNAPSHOTS_PER_EVENT);

  async function linkEvent(exec: Trx, alert: string, eventId: string, at: number, snapshots: readonly string[]): Promise<void> {
    const pending = (await exec.selectFrom('alert_pending_snapshots').select('sha256').where('event_id', '=', eventId).orderBy('at').execute()).map((p) => p.sha256);
    if (pending.length) await exec.deleteFrom('alert_pending_snapshots').where('event_id', '=', eventId).execute();
    await exec
      .insertInto('alert_events')
      .values({ alert, event_id: eventId, at, snapshots: JSON.stringify(mergeShas([...snapshots], pending)) })
      .onConflict((oc) => oc.columns(['alert', 'event_id']).doNothing())
      .execute();
    const { n } = await exec.selectFrom('alert_events').select((eb) => eb.fn.countAll<number>().as('n')).where('alert', '=', alert).executeTakeFirstOrThrow();
    if (Number(n) > MAX_EVENTS) {
      // Keep the first (triggering) event and the newest ones: drop the second oldest.
      const second = await exec.selectFrom('alert_events').select('id').where('alert', '=', alert).orderBy('id').limit(1).offset(1).executeTakeFirst();
      if (second) await exec.deleteFrom('alert_events').where('id', '=', second.id).execute();
    }
  }

  /** Apply a state change: `next` returns the columns to set, or null for "no change". */
  async function transition(
    exec: Trx,
    id: string,
    actor: string,
    note: string | undefined,
    at: number,
    next: (r: Row) => Updateable<AlertsTable> | null,
  ): Promise<Change> {
    checkActor(actor);
    const row = await rowOf(exec, id);
    const set = next(row);
    if (!set) return { alert: (await toAlertsOn(exec, [row]))[0]!, changed: false };
    await exec.updateTable('alerts').set(set).where('id', '=', id).execute();
    await addTransition(exec, id, at, actor, row.state, (set.state as AlertState | undefined) ?? row.state, note ?? null);
    return { alert: await alertOf(exec, id), changed: true };
  }

  const store: AlertStore = {
    async load() {
      const rows = await db.selectFrom('alert_settings').select(['estate', 'json']).execute();
      settingsCache.clear();
      for (const r of rows) settingsCache.set(r.estate, resolveSettings(JSON.parse(r.json)));
    },

    raise(action, trx) {
      return inTrx(trx, async (t) => {
        const cur = await byKey(t, action);
        const snapshots = action.snapshots ?? [];
        if (cur) {
          if (action.eventId) {
            const linked = await t.selectFrom('alert_events').select('id').where('alert', '=', cur.id).where('event_id', '=', action.eventId).executeTakeFirst();
            if (linked) return { alert: (await toAlertsOn(t, [cur]))[0]!, created: false, changed: false };
          }
          // A repeat: the condition is back, so a condition-cleared stamp no longer holds.
          const data = JSON.stringify({ ...(JSON.parse(cur.data) as object), ...action.data });
          await t
            .updateTable('alerts')
            .set({
              count: cur.count + 1,
              last_at: Math.max(cur.last_at, action.at),
              severity: Math.max(cur.severity, action.severity),
              gateway: action.gateway,
              data,
              cleared_at: null,
              cleared_event: null,
            })
            .where('id', '=', cur.id)
            .execute();
          await activity.repeat(t, cur.id, action.at, cur.count + 1, action.eventId);
          if (action.eventId) await linkEvent(t, cur.id, action.eventId, action.at, snapshots);
          return { alert: await alertOf(t, cur.id), created: false, changed: true };
        }
        const id = newId(action.at);
        await t
          .insertInto('alerts')
          .values({
            id, estate: action.estate, gateway: action.gateway, device: action.device, rule: action.rule, key: action.key,
            severity: action.severity, state: 'open', count: 1, opened_at: action.at, last_at: action.at, level: 0,
            ack_at: null, ack_by: null, resolved_at: null, resolved_by: null, resolution: null, notified_at: null, assignee: null,
            data: JSON.stringify(action.data), cleared_at: null, cleared_event: null,
          })
          .execute();
        await addTransition(t, id, action.at, 'system', null, 'open', null);
        if (action.eventId) await linkEvent(t, id, action.eventId, action.at, snapshots);
        return { alert: await alertOf(t, id), created: true, changed: true };
      });
    },

    clear(action, trx) {
      return inTrx(trx, async (t): Promise<Change | null> => {
        const cur = await byKey(t, action);
        if (!cur) return null;
        if (action.resolve === false) {
          const r = await t
            .updateTable('alerts')
            .set({ cleared_at: action.at, cleared_event: action.eventId ?? null })
            .where('id', '=', cur.id)
            .where('cleared_at', 'is', null)
            .executeTakeFirst();
          const stamped = Number(r.numUpdatedRows) > 0;
          if (stamped) await activity.conditionCleared(t, cur.id, action.at, action.eventId);
          return { alert: await alertOf(t, cur.id), changed: stamped };
        }
        const note = action.eventId ? `cleared by event ${action.eventId}` : 'cleared';
        return transition(t, cur.id, 'system', note, action.at, (r) =>
          r.state === 'resolved' ? null : { state: 'resolved', resolved_at: action.at, resolved_by: 'system', resolution: 'cleared' },
        );
      });
    },

    async acknowledge(id, actor, note, at = Date.now(), trx) {
      checkActor(actor);
      return inTrx(trx, (t) =>
        transition(t, id, actor, note, at, (r) => {
          if (r.state === 'acknowledged') return null;
          if (r.state === 'resolved') throw new RbError('RB_ERR_ALERT_STATE', `alert ${id} is resolved; it cannot be acknowledged`);
          return { state: 'acknowledged', ack_at: at, ack_by: actor };
        }),
      );
    },

    async escalate(id, level, at, trx) {
      if (!Number.isInteger(level) || level < 0 || level > 3) throw new RbError('RB_ERR_BAD_BODY', `escalation level must be 0..3, got ${level}`);
      return inTrx(trx, async (t): Promise<Change> => {
        const row = await rowOf(t, id);
        if (row.state === 'acknowledged' || row.state === 'resolved') return { alert: (await toAlertsOn(t, [row]))[0]!, changed: false };
        if (level <= row.level) {
          await t.updateTable('alerts').set({ notified_at: at }).where('id', '=', id).execute();
          return { alert: await alertOf(t, id), changed: false };
        }
        return transition(t, id, 'system', `level ${level}`, at, () => ({ state: 'escalated', level, notified_at: at }));
      });
    },

    async notified(id, n, trx) {
      for (const actor of n.actors) checkActor(actor);
      await inTrx(trx, (t) => activity.notified(t, id, n.at, n.level, n.reason, n.actors));
    },

    async resolve(id, actor, note, at = Date.now(), trx) {
      if (typeof note !== 'string' || note.trim() === '') throw new RbError('RB_ERR_BAD_BODY', 'a resolution note is required');
      checkActor(actor);
      return inTrx(trx, (t) =>
        transition(t, id, actor, note, at, (r) =>
          r.state === 'resolved' ? null : { state: 'resolved', resolved_at: at, resolved_by: actor, resolution: note.slice(0, 2000) },
        ),
      );
    },

    async assign(id, assignee, actor, at = Date.now(), trx) {
      if (assignee !== null) checkActor(assignee);
      checkActor(actor);
      return inTrx(trx, (t) =>
        transition(t, id, actor, `assigned ${assignee ?? 'nobody'}`, at, (r) => {
          if (r.state === 'resolved') throw new RbError('RB_ERR_ALERT_STATE', `alert ${id} is resolved; it cannot be assigned`);
          return r.assignee === assignee ? null : { assignee };
        }),
      );
    },

    async comment(id, actor, text, at = Date.now(), trx) {
      checkActor(actor);
      if (typeof text !== 'string' || text.trim() === '' || text.length > 2000) throw new RbError('RB_ERR_BAD_BODY', 'a comment is 1..2000 characters');
      return inTrx(trx, async (t) => {
        await rowOf(t, id);
        const { id: cid } = await t.insertInto('alert_comments').values({ alert: id, at, actor, text }).returning('id').executeTakeFirstOrThrow();
        return { id: Number(cid), at, actor, text };
      });
    },

    linkSnapshot(eventId, sha256, at = Date.now(), trx) {
      return inTrx(trx, async (t) => {
        const links = await t.selectFrom('alert_events').select(['alert', 'snapshots']).where('event_id', '=', eventId).execute();
        if (links.length === 0) {
          await t.insertInto('alert_pending_snapshots').values({ event_id: eventId, sha256, at }).onConflict((oc) => oc.columns(['event_id', 'sha256']).doNothing()).execute();
          await t.deleteFrom('alert_pending_snapshots').where('at', '<', at - PENDING_MS).execute();
          const edge = await t.selectFrom('alert_pending_snapshots').select('at').orderBy('at', 'desc').limit(1).offset(PENDING_MAX).executeTakeFirst();
          if (edge) await t.deleteFrom('alert_pending_snapshots').where('at', '<=', edge.at).execute();
          return [];
        }
        const changed: string[] = [];
        for (const l of links) {
          const shas = JSON.parse(l.snapshots) as string[];
          if (shas.includes(sha256) || shas.length >= MAX_SNAPSHOTS_PER_EVENT) continue;
          await t.updateTable('alert_events').set({ snapshots: JSON.stringify([...shas, sha256]) }).where('alert', '=', l.alert).where('event_id', '=', eventId).execute();
          changed.push(l.alert);
        }
        const out: Alert[] = [];
        for (const id of changed) out.push(await alertOf(t, id));
        return out;
      });
    },

    async get(id, trx) {
      const exec = trx ?? db;
      const row = await rowById(exec, id);
      if (!row) return undefined;
      const [alert] = await toAlertsOn(exec, [row]);
      const transitions = (
        await exec.selectFrom('alert_transitions').select(['at', 'actor', 'from', 'to', 'note']).where('alert', '=', id).orderBy('id').execute()
      ).map((t) => ({ at: t.at, actor: t.actor, from: t.from, to: t.to, ...(t.note !== null ? { note: t.note } : {}) }));
      const comments = (await exec.selectFrom('alert_comments').select(['id', 'at', 'actor', 'text']).where('alert', '=', id).orderBy('id').execute()).map((c) => ({
        ...c,
        id: Number(c.id),
      }));
      return { ...alert!, transitions, comments, activity: await activity.of(exec, id) };
    },

    list: (query) => listAlerts(db, query),

    ...reports,

    async openAlerts(estate) {
      return toAlerts(
        await db.selectFrom('alerts').selectAll().where('estate', '=', estate).where('state', '<>', 'resolved').orderBy('opened_at').orderBy('id').limit(1000).execute(),
      );
    },

    async dueForEscalation(now) {
      const rows = await db
        .selectFrom('alerts')
        .select(['id', 'estate', 'severity', 'state', 'level', 'opened_at', 'notified_at'])
        .where('state', 'in', ['open', 'escalated'])
        .where('opened_at', '<=', now)
        .orderBy('opened_at')
        .orderBy('id')
        .execute();
      return rows.map((r) => ({
        id: r.id, estate: r.estate, severity: r.severity, state: r.state as 'open' | 'escalated', level: r.level, openedAt: r.opened_at, notifiedAt: r.notified_at,
      }));
    },

    settings(estate) {
      return settingsCache.get(estate) ?? DEFAULT_SETTINGS;
    },

    async saveSettings(estate, input, at = Date.now()) {
      const s = resolveSettings(input);
      const json = JSON.stringify(input ?? {});
      await hubDb.transaction(async (trx) => {
        await trx
          .insertInto('alert_settings')
          .values({ estate, json, updated_at: at })
          .onConflict((oc) => oc.column('estate').doUpdateSet({ json, updated_at: at }))
          .execute();
        // A cluster: every node keeps the settings in memory; they read them again on this (main.ts).
        if (hubDb.dialect === 'postgres') await sql`SELECT pg_notify(${SETTINGS_CHANNEL}, ${estate})`.execute(trx);
      });
      settingsCache.set(estate, s);
      return s;
    },
  };
  return store;
}
