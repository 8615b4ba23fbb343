import type { Kysely, Selectable } from 'kysely';
import { monotonicFactory } from 'ulid';
import type { HubDatabase, Schema } from '../platform/db/index.js';
import type { NotificationsTable } from '../platform/db/schema-notify.js';
import type { Address, Lang } from './channel.js';
import type { NotificationState } from './types.js';

/**
 * The durable notification outbox, table `notifications` of the hub database (docs/notifications.md).
 * Rows are inserted in the alert's own outbox transaction (a crash can neither lose nor double
 * them), then moved by the dispatcher: queued → sending → sent / delivered / failed (or skipped).
 * A row keeps its id across retries and restarts: channels give it to the provider as the
 * idempotency key.
 */

/** One notification as the dispatcher and the views read it. */
export interface Notification {
  id: string;
  alertId: string;
  estate: string;
  level: number;
  severity: number;
  userId: string | null;
  channelId: string;
  channelType: string;
  address: Address | null;
  lang: Lang;
  state: NotificationState;
  attempts: number;
  nextAt: number;
  queuedAt: number;
  sentAt: number | null;
  deliveredAt: number | null;
  providerId: string | null;
  error: { code: string; message: string } | null;
  atEdge: boolean;
  fallback: boolean;
}

/** A row to queue (or to record as skipped, e.g. over the fan-out cap). */
export interface NewNotification {
  alertId: string;
  estate: string;
  level: number;
  severity: number;
  userId: string | null;
  channelId: string;
  channelType: string;
  address: Address | null;
  lang: Lang;
  fallback: boolean;
  at: number;
  /** Default 'queued'. */
  state?: 'queued' | 'skipped' | 'sent';
  error?: { code: string; message: string };
  atEdge?: boolean;
}

export type Exec = Kysely<Schema>;

export interface NotificationOutbox {
  /**
   * Insert rows in `exec` (the caller's transaction, or the database); a row whose (alert, level,
   * recipient, channel) exists already is left out. Returns the rows inserted.
   */
  insert(exec: Exec, rows: readonly NewNotification[]): Promise<Notification[]>;
  /** Rows of one alert, in the caller's transaction or not (fan-out cap, edge reports). */
  forAlert(alertId: string, exec?: Exec): Promise<Notification[]>;
  /** `queued` rows due at `now`, the longest due first. */
  due(now: number, limit: number): Promise<Notification[]>;
  /** When the next `queued` row is due (null: none is queued). */
  nextDueAt(): Promise<number | null>;
  /** queued → sending with one more attempt; false when another dispatcher (or a skip) took it first. */
  claim(id: string, now: number): Promise<boolean>;
  /** sending → sent/delivered. */
  sent(id: string, outcome: { state: 'sent' | 'delivered'; providerId?: string | undefined }, at: number): Promise<void>;
  /** sending → queued again, due at `nextAt`, with the error that made it wait. */
  retry(id: string, nextAt: number, error: { code: string; message: string }): Promise<void>;
  /** sending → failed for good. */
  fail(id: string, error: { code: string; message: string }, at: number): Promise<void>;
  /**
   * queued/sending → skipped (the alert was acknowledged meanwhile, the person reached at the edge…).
   * `from`: only rows in these states (default both); `trx`: inside a caller's transaction.
   */
  skip(id: string, error: { code: string; message: string }, at: number, opts?: { from?: readonly NotificationState[]; trx?: Exec }): Promise<boolean>;
  /** A provider's delivery report for a sent row (by row id). */
  delivered(id: string, at: number): Promise<boolean>;
  /** At start: rows left `sending` by a crash become due again now, with the same id. Returns how many. */
  recover(now: number): Promise<number>;
  /** queued + sending rows (metrics). */
  depth(): Promise<number>;
}

const NOT_DONE = ['queued', 'sending'] as const;

export const recipientOf = (userId: string | null): string => (userId === null ? 'group' : `user:${userId}`);

function parseAddress(text: string | null): Address | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as Address;
  } catch {
    return null;
  }
}

export function toNotification(r: Selectable<NotificationsTable>): Notification {
  return {
    id: r.id,
    alertId: r.alert_id,
    estate: r.estate,
    level: Number(r.level),
    severity: Number(r.severity),
    userId: r.user_id,
    channelId: r.channel_id,
    channelType: r.channel_type,
    address: parseAddress(r.address),
    lang: r.lang === 'en' ? 'en' : 'zh-CN',
    state: r.state,
    attempts: Number(r.attempts),
    nextAt: Number(r.next_at),
    queuedAt: Number(r.queued_at),
    sentAt: r.sent_at === null ? null : Number(r.sent_at),
    deliveredAt: r.delivered_at === null ? null : Number(r.delivered_at),
    providerId: r.provider_id,
    error: r.error_code === null ? null : { code: r.error_code, message: r.error_message ?? '' },
    atEdge: Number(r.at_edge) === 1,
    fallback: Number(r.fallback) === 1,
  };
}

/** Messages are stored as shown on the alert view: bounded. */
const MAX_ERROR = 500;
const clip = (s: string): string => (s.length > MAX_ERROR ? `${s.slice(0, MAX_ERROR - 1)}…` : s);

export function createNotificationOutbox(hubDb: HubDatabase): NotificationOutbox {
  const { db } = hubDb;
  /** Ids in the order rows were queued, also within one millisecond. */
  const ulid = monotonicFactory();
  const rowsOf = async (exec: Exec, ids: string[]): Promise<Notification[]> =>
    ids.length === 0 ? [] : (await exec.selectFrom('notifications').selectAll().where('id', 'in', ids).orderBy('id').execute()).map(toNotification);

  return {
    async insert(exec, rows) {
      const ids: string[] = [];
      for (const n of rows) {
        const id = ulid(n.at);
        const state = n.state ?? 'queued';
        // One statement per row: ON CONFLICT DO NOTHING tells by numInsertedRows whether it went in.
        const r = await exec
          .insertInto('notifications')
          .values({
            id,
            alert_id: n.alertId,
            estate: n.estate,
            level: n.level,
            severity: n.severity,
            user_id: n.userId,
            recipient: recipientOf(n.userId),
            channel_id: n.channelId,
            channel_type: n.channelType,
            address: n.address === null ? null : JSON.stringify(n.address),
            lang: n.lang,
            state,
            attempts: 0,
            next_at: n.at,
            queued_at: n.at,
            sent_at: state === 'sent' ? n.at : null,
            delivered_at: null,
            provider_id: null,
            error_code: n.error?.code ?? null,
            error_message: n.error ? clip(n.error.message) : null,
            at_edge: n.atEdge ? 1 : 0,
            fallback: n.fallback ? 1 : 0,
          })
          .onConflict((oc) => oc.columns(['alert_id', 'level', 'recipient', 'channel_id']).doNothing())
          .executeTakeFirst();
        if (Number(r.numInsertedOrUpdatedRows ?? 0) === 1) ids.push(id);
      }
      return rowsOf(exec, ids);
    },
    async forAlert(alertId, exec = db) {
      const rows = await exec.selectFrom('notifications').selectAll().where('alert_id', '=', alertId).orderBy('level').orderBy('id').execute();
      return rows.map(toNotification);
    },
    async due(now, limit) {
      const rows = await db
        .selectFrom('notifications')
        .selectAll()
        .where('state', '=', 'queued')
        .where('next_at', '<=', now)
        .orderBy('next_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(toNotification);
    },
    async nextDueAt() {
      const r = await db.selectFrom('notifications').select((eb) => eb.fn.min('next_at').as('at')).where('state', '=', 'queued').executeTakeFirst();
      return r?.at === null || r?.at === undefined ? null : Number(r.at);
    },
    async claim(id, now) {
      const r = await db
        .updateTable('notifications')
        .set((eb) => ({ state: 'sending', attempts: eb('attempts', '+', 1), next_at: now }))
        .where('id', '=', id)
        .where('state', '=', 'queued')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async sent(id, outcome, at) {
      await db
        .updateTable('notifications')
        .set({
          state: outcome.state,
          sent_at: at,
          delivered_at: outcome.state === 'delivered' ? at : null,
          provider_id: outcome.providerId ?? null,
          error_code: null,
          error_message: null,
        })
        .where('id', '=', id)
        .where('state', '=', 'sending')
        .execute();
    },
    async retry(id, nextAt, error) {
      await db
        .updateTable('notifications')
        .set({ state: 'queued', next_at: nextAt, error_code: error.code, error_message: clip(error.message) })
        .where('id', '=', id)
        .where('state', '=', 'sending')
        .execute();
    },
    async fail(id, error, at) {
      await db
        .updateTable('notifications')
        .set({ state: 'failed', next_at: at, error_code: error.code, error_message: clip(error.message) })
        .where('id', '=', id)
        .where('state', '=', 'sending')
        .execute();
    },
    async skip(id, error, at, opts = {}) {
      const r = await (opts.trx ?? db)
        .updateTable('notifications')
        .set({ state: 'skipped', next_at: at, error_code: error.code, error_message: clip(error.message) })
        .where('id', '=', id)
        .where('state', 'in', opts.from ?? NOT_DONE)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async delivered(id, at) {
      const r = await db
        .updateTable('notifications')
        .set({ state: 'delivered', delivered_at: at })
        .where('id', '=', id)
        .where('state', 'in', ['sent', 'sending'])
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async recover(now) {
      const r = await db.updateTable('notifications').set({ state: 'queued', next_at: now }).where('state', '=', 'sending').executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    async depth() {
      const r = await db
        .selectFrom('notifications')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('state', 'in', NOT_DONE)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}
