import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { localTime } from '../../lib/zoned.js';
import type { OrderAction, OrderCategory, WorkOrderView } from '../../protocol/work-orders.js';
import type { NameOf } from '../alerts/view.js';
import type { Audit } from '../audit.js';
import { RbError } from '../errors.js';
import { isUniqueViolation, type HubDatabase, type Schema } from '../platform/db/index.js';
import type { LiveOutbox, Push } from '../push/push.js';
import * as store from './store.js';
import { defaultDeadlineFor, transition, type DeadlineFor, type OrderFacts } from './transitions.js';
import type { CreatedOrder, NewOrder, OrderActor, OrderChange, OrderQuery, TransactionOutbox, WorkOrders } from './types.js';
import { orderView } from './view.js';

/**
 * The work-order service (docs/work-orders.md): every create and change is one transaction of the hub
 * database holding the order row, its step (and the step's photos), its audit entry and its live push
 * message (push's outbox: sent only after the COMMIT). Listeners (`onChange`) run after the COMMIT.
 *
 * In a cluster any node may write orders: no partition lease is needed for a person's change, since
 * every write is a transaction on the one database and a change that raced another is refused
 * (hub/orders/store.ts `updateOrder`), not merged.
 */
export interface WorkOrdersService extends WorkOrders {
  /** The full phone number of an order (the audited `GET /work-orders/:id/phone`); undefined = no such order. */
  fullPhone(id: string): Promise<{ estate: string; no: string; phone: string | null } | undefined>;
  /** The first order made from an alert (转工单 twice gives the same order). */
  byAlert(alertId: string): Promise<WorkOrderView | undefined>;
  /**
   * A step that is no transition (吹哨 whistled, a department's 报到 check-in and its report): written to
   * the history with its audit row (`order.<action>`) and an `order:update` push, whatever the state.
   * `trx`, `out`: in the caller's transaction, as `create` takes them.
   */
  recordStep(
    id: string,
    step: { action: Extract<OrderAction, 'whistled' | 'checked_in' | 'reported'>; note?: string; detail?: Record<string, unknown> },
    actor: OrderActor,
    opts?: InCallerTransaction,
  ): Promise<WorkOrderView>;
}

/** A caller's transaction and, optionally, push's outbox of it. */
export interface InCallerTransaction {
  trx?: Kysely<Schema>;
  out?: TransactionOutbox;
}

export interface WorkOrdersDeps {
  db: HubDatabase;
  audit: Pick<Audit, 'recordIn'>;
  /** Live push (`order:new`, `order:update` to the estate's rooms); absent in unit tests. */
  push?: Pick<Push, 'transaction' | 'toEstate'> | undefined;
  nameOf?: NameOf | undefined;
  /** Deadline of a tier (config `orders.deadlines` through hub/orders/deadlines.ts); default 24 h / 48 h / 72 h. */
  deadlineFor?: DeadlineFor | undefined;
  /** The local date in an order's number (`GD20261207-0003`). */
  timeZone: string;
  log: Logger;
  now?: () => number;
}

/** Short words for a title nobody gave (the resident's page and the screens have their own labels). */
const CATEGORY_WORDS: Record<OrderCategory, string> = { repair: '报修', hazard: '安全隐患', sanitation: '环境卫生', noise: '噪音扰民', help: '求助', other: '其他' };
const MAX_TITLE = 120;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;

export const actorString = (a: OrderActor): string => (a.kind === 'user' ? `user:${a.id}` : a.kind === 'department' ? `department:${a.id}` : a.kind);
export const followHash = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

export function defaultTitle(category: OrderCategory, description: string): string {
  const words = Array.from(description.replace(/\s+/g, ' ').trim());
  const head = words.slice(0, 30).join('') + (words.length > 30 ? '…' : '');
  return `${CATEGORY_WORDS[category]}${head ? `：${head}` : ''}`.slice(0, MAX_TITLE);
}

function localDate(at: number, timeZone: string): string {
  const l = localTime(at, timeZone);
  return `${l.year}${String(l.month).padStart(2, '0')}${String(l.day).padStart(2, '0')}`;
}

function encodeCursor(r: { created_at: number; id: string }): string {
  return Buffer.from(JSON.stringify([r.created_at, r.id])).toString('base64url');
}
function decodeCursor(c: string): { createdAt: number; id: string } {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && Number.isSafeInteger(v[0]) && typeof v[1] === 'string' && v[1].length <= 64) return { createdAt: v[0] as number, id: v[1] };
  } catch {
    // falls through
  }
  throw new RbError('RB_ERR_BAD_QUERY', 'cursor: is not a cursor from this API (pass nextCursor as given)');
}

const facts = (r: store.OrderRow): OrderFacts => ({
  state: r.state,
  tier: r.tier,
  category: r.category,
  reopenCount: r.reopen_count,
  assigneeUser: r.assignee_user,
  assigneeDept: r.assignee_dept,
});

export function createWorkOrders(deps: WorkOrdersDeps): WorkOrdersService {
  const { db, audit, push, nameOf, log } = deps;
  const now = deps.now ?? (() => Date.now());
  const deadlineFor = deps.deadlineFor ?? defaultDeadlineFor;
  const listeners = new Set<(order: WorkOrderView, action: string) => void>();
  const view = (r: store.OrderRow): WorkOrderView => orderView(r, { nameOf, now: now() });

  function announce(order: WorkOrderView, action: string): void {
    for (const l of listeners) {
      try {
        l(order, action);
      } catch (err) {
        log.error({ err, order: order.id, action }, 'work-order listener failed');
      }
    }
  }

  /** `write` in one transaction with push's outbox (or the caller's transaction; or a plain one without push). */
  async function inTransaction(write: (trx: Kysely<Schema>) => Promise<store.OrderRow>, event: 'order:new' | 'order:update', caller?: InCallerTransaction): Promise<WorkOrderView> {
    const send = async (out: TransactionOutbox | Pick<LiveOutbox, 'toEstate'>, row: store.OrderRow): Promise<WorkOrderView> => {
      const v = view(row);
      await out.toEstate(row.estate, event, v, now());
      return v;
    };
    if (caller?.trx) {
      if (caller.out) return send(caller.out, await write(caller.trx));
      // No outbox of the caller's: the message is logged by push's own writer (sent once that commits).
      const v = view(await write(caller.trx));
      push?.toEstate(v.estate, event, v, now());
      return v;
    }
    if (push) return push.transaction(async (t, out) => send(out, await write(t)));
    return view(await db.transaction(write));
  }

  async function create(input: NewOrder, actor: OrderActor, opts?: InCallerTransaction): Promise<CreatedOrder> {
    if (input.externalNo !== undefined) {
      const known = await store.byExternalNo(opts?.trx ?? db.db, input.externalNo);
      if (known) return { order: view(known), created: false };
    }
    const at = input.createdAt ?? now();
    const followToken = input.source === 'resident' ? randomBytes(32).toString('base64url') : undefined;
    const tier = input.tier ?? 'grid';
    const write = async (trx: Kysely<Schema>): Promise<store.OrderRow> => {
      const date = localDate(at, deps.timeZone);
      const n = await store.nextCounter(trx, `GD${date}`);
      const row: store.OrderRow = {
        id: store.orderId(),
        no: `GD${date}-${String(n).padStart(4, '0')}`,
        estate: input.estate,
        source: input.source,
        category: input.category,
        tier,
        state: 'new',
        title: input.title?.trim() || defaultTitle(input.category, input.description),
        description: input.description,
        building: input.building ?? null,
        unit: input.unit ?? null,
        phone: input.phone ?? null,
        external_no: input.externalNo ?? null,
        alert_id: input.alertId ?? null,
        assignee_user: null,
        assignee_dept: null,
        created_at: at,
        updated_at: at,
        tier_at: at,
        deadline_at: deadlineFor(input.category, tier, at),
        resolved_at: null,
        closed_at: null,
        rating: null,
        reopen_count: 0,
        follow_hash: followToken ? followHash(followToken) : null,
      };
      await store.insertOrder(trx, row);
      const stepId = store.orderId();
      await store.insertStep(trx, { id: stepId, order_id: row.id, at, action: 'created', actor: actorString(actor), from_state: null, to_state: 'new', tier, note: null });
      if (input.photos?.length) await store.insertPhotos(trx, row.id, stepId, input.photos, at);
      await audit.recordIn(trx, {
        actor: actorString(actor),
        action: 'order.create',
        estate: row.estate,
        target: row.id,
        detail: { no: row.no, source: row.source, category: row.category, ...(row.external_no ? { externalNo: row.external_no } : {}), ...(row.alert_id ? { alertId: row.alert_id } : {}) },
      });
      return row;
    };
    let order: WorkOrderView;
    try {
      order = await inTransaction(write, 'order:new', opts);
    } catch (err) {
      // The same 12345 order imported twice at once: the unique index let one in; answer with it.
      if (input.externalNo !== undefined && !opts?.trx && isUniqueViolation(err)) {
        const known = await store.byExternalNo(db.db, input.externalNo);
        if (known) return { order: view(known), created: false };
      }
      throw err;
    }
    announce(order, 'created');
    return { order, created: true, ...(followToken ? { followToken } : {}) };
  }

  async function change(id: string, change: OrderChange, actor: OrderActor): Promise<WorkOrderView> {
    const at = now();
    const order = await inTransaction(async (trx) => {
      const before = await store.getOrder(trx, id);
      if (!before) throw new RbError('RB_ERR_NOT_FOUND', `no work order ${id}`);
      const t = transition(facts(before), change, actor, at, deadlineFor);
      const after = await store.updateOrder(trx, before, t.patch, at);
      const stepId = store.orderId();
      const note = 'note' in change && change.note !== undefined && change.note !== '' ? change.note : null;
      await store.insertStep(trx, { id: stepId, order_id: id, at, action: t.step, actor: actorString(actor), from_state: before.state, to_state: after.state, tier: after.tier, note });
      const photos = 'photos' in change ? change.photos : undefined;
      if (photos?.length) await store.insertPhotos(trx, id, stepId, photos, at);
      await audit.recordIn(trx, {
        actor: actorString(actor),
        action: `order.${change.action}`,
        estate: after.estate,
        target: id,
        detail: {
          no: after.no,
          from: before.state,
          to: after.state,
          ...(after.tier !== before.tier ? { tier: after.tier } : {}),
          ...(change.action === 'assign' ? { user: change.user ?? null, department: change.department ?? null } : {}),
          ...(change.action === 'rate' ? { rating: change.rating } : {}),
          ...(photos?.length ? { photos: photos.length } : {}),
        },
      });
      return after;
    }, 'order:update');
    announce(order, change.action);
    return order;
  }

  async function recordStep(id: string, step: Parameters<WorkOrdersService['recordStep']>[1], actor: OrderActor, opts?: InCallerTransaction): Promise<WorkOrderView> {
    const at = now();
    const order = await inTransaction(
      async (trx) => {
        const row = await store.touchOrder(trx, id, at);
        if (!row) throw new RbError('RB_ERR_NOT_FOUND', `no work order ${id}`);
        await store.insertStep(trx, { id: store.orderId(), order_id: id, at, action: step.action, actor: actorString(actor), from_state: row.state, to_state: row.state, tier: row.tier, note: step.note ?? null });
        await audit.recordIn(trx, { actor: actorString(actor), action: `order.${step.action}`, estate: row.estate, target: id, detail: { no: row.no, ...step.detail } });
        return row;
      },
      'order:update',
      opts,
    );
    announce(order, step.action);
    return order;
  }

  return {
    create,
    change,
    recordStep,
    async get(id, opts) {
      const r = await store.getOrder(db.db, id);
      if (!r) return undefined;
      return opts?.steps ? orderView(r, { nameOf, now: now(), steps: await store.stepsOf(db.db, id) }) : view(r);
    },
    async byFollowToken(token) {
      if (typeof token !== 'string' || token.length < 16 || token.length > 128) return undefined;
      const r = await store.byFollowHash(db.db, followHash(token));
      return r ? orderView(r, { nameOf, now: now(), steps: await store.stepsOf(db.db, r.id) }) : undefined;
    },
    async list(q: OrderQuery) {
      const limit = Math.min(Math.max(q.limit ?? DEFAULT_LIMIT, 1), MAX_LIMIT);
      const rows = await store.listOrders(db.db, {
        estates: q.estates,
        states: q.states,
        tier: q.tier,
        source: q.source,
        category: q.category,
        overdue: q.overdue,
        assigneeUser: q.assigneeUser,
        now: now(),
        after: q.cursor !== undefined ? decodeCursor(q.cursor) : undefined,
        limit: limit + 1,
      });
      const more = rows.length > limit;
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { items: page.map(view), ...(more && last ? { nextCursor: encodeCursor(last) } : {}) };
    },
    photo: (orderId, photoId) => store.photoOf(db.db, orderId, photoId),
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    backlog: (estates) => store.backlog(db.db, estates, now()),
    async fullPhone(id) {
      const r = await store.getOrder(db.db, id);
      return r ? { estate: r.estate, no: r.no, phone: r.phone } : undefined;
    },
    async byAlert(alertId) {
      const r = await store.byAlert(db.db, alertId);
      return r ? view(r) : undefined;
    },
  };
}
