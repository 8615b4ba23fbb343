import type { Logger } from 'pino';
import type { ContactBook, ContactRoute, NotificationView } from './types.js';
import { createNotificationOutbox, type Exec, type NewNotification, type Notification, type NotificationOutbox } from './outbox.js';
import { maskAddress } from './render.js';
import type { HubDatabase } from '../platform/db/index.js';
import { ulid } from 'ulid';
import { RbError } from '../errors.js';

/**
 * The queueing side of notification (docs/notifications.md, "Outbox"): who gets a row when an alert
 * notifies a level, written in the alert's own outbox transaction; the fallback routes of a person
 * whose every other route failed; what a gateway reports it sent at the edge; and the rows as the
 * alert view shows them. Sending is the dispatcher's (dispatcher.ts).
 */

export interface QueueRequest {
  alertId: string;
  estate: string;
  severity: number;
  level: number;
  /** The people the escalation reaches at this level (roster.recipients). */
  userIds: readonly string[];
  at: number;
}

export interface Notifier {
  /**
   * Queue the level's rows in `trx`, the alert transition's transaction: each person's non-fallback
   * routes (and their fallback routes too at a level that calls by voice), and at level 0 the estate's group robots. A row that exists already (renotify at the same
   * level) is left as it is. Returns how many rows were queued; wake the dispatcher after COMMIT.
   */
  queue(trx: Exec, req: QueueRequest): Promise<number>;
  /** Queue a person's fallback routes (e.g. voice) for (alert, level) in a transaction of its own. */
  queueFallback(userId: string, req: Omit<QueueRequest, 'userIds'>): Promise<number>;
  /**
   * A gateway's report that it texted these people through its own modem while the hub was
   * unreachable: rows `sent` with at_edge, and any row still queued for them at level 0 skipped, so
   * the same person is not texted again. Returns how many people it recorded.
   */
  recordAtEdge(alertId: string, userIds: readonly string[], channel: string, at: number, opts?: { trx?: Exec; estate?: string; severity?: number }): Promise<number>;
  /**
   * "Send a test" (the contacts screen): one row for a test message (alert id `test:<ulid>`) through
   * the outbox like any other (its provider, its retries); resolves once queued.
   */
  sendTest(route: ContactRoute, userId: string | null, actor: string): Promise<{ id?: string }>;
  /** The alert's rows as the alert view shows them (addresses masked). */
  views(alertId: string): Promise<NotificationView[]>;
  /** Called after a commit that queued rows (the dispatcher's wake). */
  onQueued(listener: () => void): void;
  /** Tell the listener (the alert service calls it after its COMMIT). */
  wake(): void;
  readonly outbox: NotificationOutbox;
}

export interface NotifierDeps {
  db: HubDatabase;
  contactBook: ContactBook;
  /** Configured channel instances: id → plugin type. */
  channelType(channelId: string): string | undefined;
  maxPerAlert: number;
  /** Levels that "call by voice": fallback routes go at once there (notify.voiceLevels). */
  voiceLevels?: readonly number[];
  /** A person's display name for the views. */
  nameOf?: (userId: string) => string | undefined;
  log: Logger;
  outbox?: NotificationOutbox;
  /** The alert's estate and severity (edge reports of an alert with no row yet). */
  alertFacts?: (alertId: string) => Promise<{ estate: string; severity: number } | undefined>;
}

/** Alert ids of "send a test" rows. */
export const TEST_PREFIX = 'test:';

export function createNotifier(deps: NotifierDeps): Notifier {
  const outbox = deps.outbox ?? createNotificationOutbox(deps.db);
  const listeners: Array<() => void> = [];

  /** Rows for routes, with the fan-out cap and unknown channels recorded as skipped. */
  async function insert(exec: Exec, req: Omit<QueueRequest, 'userIds'>, routes: Array<{ userId: string | null; route: ContactRoute }>): Promise<number> {
    if (routes.length === 0) return 0;
    const existing = await outbox.forAlert(req.alertId, exec);
    const edge = new Set(existing.filter((n) => n.atEdge && n.level === req.level).map((n) => n.userId));
    let room = deps.maxPerAlert - existing.filter((n) => n.state !== 'skipped').length;
    const rows: NewNotification[] = [];
    for (const { userId, route } of routes) {
      const type = deps.channelType(route.channelId);
      const base = { alertId: req.alertId, estate: req.estate, level: req.level, severity: req.severity, userId, channelId: route.channelId, channelType: type ?? 'unknown', address: route.address, lang: route.lang, fallback: route.fallback, at: req.at };
      if (userId !== null && edge.has(userId)) rows.push({ ...base, state: 'skipped', error: { code: 'RB_ERR_NOTIFY_NOT_NEEDED', message: 'told at the edge by the gateway' } });
      else if (!type) rows.push({ ...base, state: 'skipped', error: { code: 'RB_ERR_NOTIFY_NO_CHANNEL', message: `no channel ${route.channelId} in notify.channels` } });
      else if (room <= 0) rows.push({ ...base, state: 'skipped', error: { code: 'RB_ERR_NOTIFY_CAPPED', message: `over notify.maxPerAlert (${deps.maxPerAlert})` } });
      else {
        rows.push(base);
        room--;
      }
    }
    const inserted = await outbox.insert(exec, rows);
    const capped = inserted.filter((n) => n.error?.code === 'RB_ERR_NOTIFY_CAPPED').length;
    if (capped > 0) deps.log.warn({ alert: req.alertId, level: req.level, capped }, 'notification fan-out cap reached');
    return inserted.filter((n) => n.state === 'queued').length;
  }

  const notifier: Notifier = {
    outbox,
    async queue(trx, req) {
      const routes: Array<{ userId: string | null; route: ContactRoute }> = [];
      const voice = deps.voiceLevels?.includes(req.level) ?? false;
      for (const userId of req.userIds) {
        for (const route of deps.contactBook.routesFor(userId, req.severity, req.at)) if (!route.fallback || voice) routes.push({ userId, route });
      }
      if (req.level === 0) for (const route of deps.contactBook.groupRoutes(req.estate, req.severity)) routes.push({ userId: null, route: { ...route, fallback: false } });
      return insert(trx, req, routes);
    },
    async queueFallback(userId, req) {
      const routes = deps.contactBook.routesFor(userId, req.severity, req.at).filter((r) => r.fallback);
      if (routes.length === 0) return 0;
      const n = await deps.db.transaction((trx) => insert(trx, req, routes.map((route) => ({ userId, route }))));
      if (n > 0) notifier.wake();
      return n;
    },
    async recordAtEdge(alertId, userIds, channel, at, opts = {}) {
      const record = async (trx: Exec) => {
        const existing = await outbox.forAlert(alertId, trx);
        // Given facts first: inside the alert's own transaction the store must not be read outside it.
        const sample = opts.estate !== undefined ? { estate: opts.estate, severity: opts.severity ?? 0 } : (existing[0] ?? (await deps.alertFacts?.(alertId)));
        let recorded = 0;
        for (const userId of new Set(userIds)) {
          for (const n of existing) {
            if (n.userId === userId && n.level === 0 && n.state === 'queued') {
              // Still waiting: not needed any more. One already being sent is left to finish.
              await outbox.skip(n.id, { code: 'RB_ERR_NOTIFY_NOT_NEEDED', message: 'told at the edge by the gateway' }, at, { from: ['queued'], trx });
            }
          }
          const row: NewNotification = {
            alertId,
            estate: sample?.estate ?? '',
            level: 0,
            severity: sample?.severity ?? 0,
            userId,
            channelId: channel,
            channelType: 'edge',
            address: null,
            lang: 'zh-CN',
            fallback: false,
            at,
            state: 'sent',
            atEdge: true,
          };
          recorded += (await outbox.insert(trx, [row])).length;
        }
        return recorded;
      };
      return opts.trx ? record(opts.trx) : deps.db.transaction(record);
    },
    async sendTest(route, userId, actor) {
      const at = Date.now();
      const type = deps.channelType(route.channelId);
      if (!type) throw new RbError('RB_ERR_NOT_FOUND', `no channel ${route.channelId} in notify.channels`);
      const row: NewNotification = { alertId: `${TEST_PREFIX}${ulid(at)}`, estate: '', level: 0, severity: 0, userId, channelId: route.channelId, channelType: type, address: route.address, lang: route.lang, fallback: false, at };
      const [n] = await outbox.insert(deps.db.db, [row]);
      deps.log.info({ notification: n?.id, channel: route.channelId, to: maskAddress(route.address, route.channelId), actor }, 'test notification queued');
      notifier.wake();
      return n ? { id: n.id } : {};
    },
    async views(alertId) {
      return (await outbox.forAlert(alertId)).map((n) => viewOf(n, deps.nameOf));
    },
    onQueued(listener) {
      listeners.push(listener);
    },
    wake() {
      for (const l of listeners) l();
    },
  };
  return notifier;
}

export function viewOf(n: Notification, nameOf?: (userId: string) => string | undefined): NotificationView {
  return {
    id: n.id,
    alertId: n.alertId,
    level: n.level,
    userId: n.userId,
    userName: n.userId === null ? null : (nameOf?.(n.userId) ?? null),
    channelId: n.channelId,
    channelType: n.channelType,
    to: n.atEdge ? 'edge' : maskAddress(n.address, n.channelId),
    state: n.state,
    attempts: n.attempts,
    queuedAt: n.queuedAt,
    sentAt: n.sentAt,
    deliveredAt: n.deliveredAt,
    providerId: n.providerId,
    error: n.error,
    atEdge: n.atEdge,
  };
}
