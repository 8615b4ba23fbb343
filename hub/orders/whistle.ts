import { createHash, createHmac } from 'node:crypto';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry as MetricsRegistry } from 'prom-client';
import { monotonicFactory } from 'ulid';
import { OPEN_ORDER_STATES, type WhistleView, type WorkOrderView } from '../../protocol/work-orders.js';
import type { LivePayloads } from '../../protocol/live.js';
import type { Channel } from '../notify/channel.js';
import { RbError } from '../errors.js';
import type { HubDatabase, Schema } from '../platform/db/index.js';
import type { OrderWhistlesTable } from '../platform/db/schema-whistles.js';
import { livePayload } from './deadlines-sweep.js';
import type { DepartmentConfig } from './deadlines.js';
import type { OrderActor, TransactionOutbox, WorkOrders } from './types.js';
import { deliverWhistle, type WhistleMessageFacts } from './whistle-notify.js';

/**
 * Whistle and report (吹哨报到, issue 19 item 4, docs/work-orders.md "Whistle and report"): the street
 * or the community whistles a department on an order; the department's contact gets a private link
 * (`/w/<token>`, no account) to check in (报到) before `check_in_by` and then report back. A whistle
 * not checked in by then is missed: shown on the order (`whistles[].missed`), counted once
 * (`rb_order_whistles_missed_total`), and in the figures (whistleFigures). Each whistle, check-in and
 * report is a step of the order (the service's `recordStep`: audited and pushed) committed with its row.
 *
 * The link's secret is HMAC(hub key, whistle id): only its sha256 is stored, and a retried message can
 * carry the same link again.
 */

type Row = Selectable<OrderWhistlesTable>;

/**
 * The work-order service's step that is no transition (whistled, checked_in, reported): written with
 * its audit row and `order:update`, in the caller's transaction (hub/orders/service.ts `recordStep`).
 */
export interface StepRecorder {
  recordStep(
    id: string,
    step: { action: 'whistled' | 'checked_in' | 'reported'; note?: string; detail?: Record<string, unknown> },
    actor: OrderActor,
    opts?: { trx?: Kysely<Schema>; out?: TransactionOutbox },
  ): Promise<WorkOrderView>;
}

export interface WhistleDeps {
  db: HubDatabase;
  orders: Pick<WorkOrders, 'get'> & StepRecorder;
  departments: readonly DepartmentConfig[];
  checkInWithinMs: number;
  reportWithinMs: number;
  /** notify.publicUrl: links in messages are `{publicUrl}/w/<token>`. */
  publicUrl: string | undefined;
  /** The hub's HMAC key (hub/people/signing-key.ts). */
  key: () => Promise<Uint8Array>;
  channels: ReadonlyMap<string, Channel>;
  sendTimeoutMs: number;
  timeZone: string;
  estateName: (estate: string) => string | undefined;
  push: {
    toEstate<K extends keyof LivePayloads>(estate: string, event: K, data: LivePayloads[K], at?: number): void;
    /** Push's outbox of a transaction: the step's `order:update` is logged with the rows and sent after COMMIT. */
    transaction?<T>(fn: (trx: Transaction<Schema>, out: TransactionOutbox) => Promise<T>): Promise<T>;
  };
  metrics: MetricsRegistry;
  log: Logger;
  now?: () => number;
}

export type WhistleResult = 'checked_in' | 'reported' | 'already' | 'not_checked_in';

export interface Whistles {
  whistle(orderId: string, input: { department: string; note?: string | undefined }, actor: OrderActor): Promise<WhistleView>;
  views(orderId: string): Promise<WhistleView[]>;
  /** The whistle and its order by the link's secret (the /w/ page). */
  byToken(token: string): Promise<{ whistle: WhistleView; order: WorkOrderView; reportBy: number } | undefined>;
  checkIn(token: string): Promise<WhistleResult>;
  report(token: string, text: string): Promise<WhistleResult>;
  /** The sweep: mark missed check-ins, tell departments still pending. */
  sweep(now: number, owns: (estate: string) => boolean): Promise<{ missed: number; told: number }>;
}

const ulid = monotonicFactory();
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export function createWhistles(deps: WhistleDeps): Whistles {
  const now = deps.now ?? (() => Date.now());
  const { db } = deps.db;
  const byId = new Map(deps.departments.map((d) => [d.id, d]));
  const base = (deps.publicUrl ?? '').replace(/\/+$/, '');
  const whistled = new Counter({ name: 'rb_order_whistles_total', help: 'Departments whistled (吹哨) on work orders', labelNames: ['department'], registers: [deps.metrics] });
  const missedTotal = new Counter({ name: 'rb_order_whistles_missed_total', help: 'Whistles not checked in (报到) by their check-in time, counted once each', labelNames: ['department'], registers: [deps.metrics] });
  const checkInSeconds = new Histogram({
    name: 'rb_order_whistle_check_in_seconds',
    help: 'Time from a whistle to its check-in (报到)',
    labelNames: ['department'],
    buckets: [300, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400],
    registers: [deps.metrics],
  });

  /** One transaction for a whistle row and its step; with push's outbox when there is one. */
  const inTransaction = <T>(fn: (trx: Kysely<Schema>, out?: TransactionOutbox) => Promise<T>): Promise<T> =>
    deps.push.transaction ? deps.push.transaction((trx, out) => fn(trx, out)) : deps.db.transaction((trx) => fn(trx));
  const tokenOf = async (id: string): Promise<string> => createHmac('sha256', await deps.key()).update(`whistle:${id}`).digest('base64url');
  const nameOf = (department: string): string => byId.get(department)?.name.zh ?? department;
  const view = (r: Row, at: number): WhistleView => {
    const checkedInAt = r.checked_in_at === null ? null : Number(r.checked_in_at);
    const checkInBy = Number(r.check_in_by);
    return {
      id: r.id,
      department: r.department,
      departmentName: nameOf(r.department),
      whistledAt: Number(r.whistled_at),
      checkInBy,
      checkedInAt,
      reportedAt: r.reported_at === null ? null : Number(r.reported_at),
      report: r.report,
      missed: r.missed_at !== null || (checkedInAt === null ? at > checkInBy : checkedInAt > checkInBy),
    };
  };
  const rowByToken = async (token: string): Promise<Row | undefined> =>
    token.length > 200 || !/^[A-Za-z0-9_-]+$/.test(token) ? undefined : db.selectFrom('order_whistles').selectAll().where('token_hash', '=', sha256(token)).executeTakeFirst();

  async function pushOrder(orderId: string, at: number): Promise<void> {
    const v = await deps.orders.get(orderId, { steps: true });
    if (v) deps.push.toEstate(v.estate, 'order:update', livePayload({ ...v, whistles: await views(orderId, at) }), at);
  }

  async function views(orderId: string, at = now()): Promise<WhistleView[]> {
    const rows = await db.selectFrom('order_whistles').selectAll().where('order_id', '=', orderId).orderBy('whistled_at').orderBy('id').execute();
    return rows.map((r) => view(r, at));
  }

  async function tell(row: Row, at: number): Promise<boolean> {
    const contact = byId.get(row.department)?.contact;
    const order = await deps.orders.get(row.order_id);
    if (!contact || !order) return false;
    const facts: WhistleMessageFacts = {
      id: row.id,
      estateName: order.estateName ?? deps.estateName(order.estate) ?? order.estate,
      orderNo: order.no,
      category: order.category,
      title: order.title,
      departmentName: nameOf(row.department),
      checkInBy: Number(row.check_in_by),
      link: `${base}/w/${await tokenOf(row.id)}`,
    };
    return (await deliverWhistle({ db: deps.db, channels: deps.channels, sendTimeoutMs: deps.sendTimeoutMs, log: deps.log }, row, contact, facts, deps.timeZone, at)) === 'sent';
  }

  /** Mark a passed check-in time as missed (once), inside the caller's transaction or not. */
  async function markMissed(r: Row, at: number): Promise<boolean> {
    const u = await db.updateTable('order_whistles').set({ missed_at: at }).where('id', '=', r.id).where('missed_at', 'is', null).executeTakeFirst();
    if (Number(u.numUpdatedRows) !== 1) return false;
    missedTotal.inc({ department: r.department });
    deps.log.warn({ whistle: r.id, order: r.order_id, department: r.department, checkInBy: Number(r.check_in_by) }, 'whistled department did not check in (报到) in time');
    return true;
  }

  async function onToken(token: string, what: 'checked_in' | 'reported', text?: string): Promise<WhistleResult> {
    const r = await rowByToken(token);
    if (!r) throw new RbError('RB_ERR_NOT_FOUND', 'no such whistle link');
    const at = now();
    if (what === 'checked_in' && r.checked_in_at !== null) return 'already';
    if (what === 'reported' && r.checked_in_at === null) return 'not_checked_in';
    if (what === 'reported' && r.reported_at !== null) return 'already';
    const actor: OrderActor = { kind: 'department', id: r.department };
    const done = await inTransaction(async (trx, out) => {
      const column = what === 'checked_in' ? 'checked_in_at' : 'reported_at';
      const u = await trx
        .updateTable('order_whistles')
        .set(what === 'checked_in' ? { checked_in_at: at } : { reported_at: at, report: text ?? '' })
        .where('id', '=', r.id)
        .where(column, 'is', null)
        .executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) return false;
      const note = what === 'reported' ? (text ?? '') : `${nameOf(r.department)} 已报到`;
      await deps.orders.recordStep(r.order_id, { action: what, note, detail: { whistle: r.id, department: r.department } }, actor, { trx, ...(out ? { out } : {}) });
      return true;
    });
    if (!done) return 'already';
    if (what === 'checked_in') {
      checkInSeconds.observe({ department: r.department }, Math.max(0, at - Number(r.whistled_at)) / 1000);
      if (at > Number(r.check_in_by)) await markMissed(r, at);
    }
    return what;
  }

  return {
    views,
    async whistle(orderId, input, actor) {
      const dept = byId.get(input.department);
      if (!dept) throw new RbError('RB_ERR_BAD_BODY', `department: unknown ${JSON.stringify(input.department)}; configured: ${[...byId.keys()].join(', ')}`);
      const at = now();
      const id = ulid(at);
      const token = await tokenOf(id);
      const row = await inTransaction(async (trx, out) => {
        const o = await trx.selectFrom('work_orders').select(['estate', 'state', 'tier']).where('id', '=', orderId).executeTakeFirst();
        if (!o) throw new RbError('RB_ERR_NOT_FOUND', `no work order ${orderId}`);
        if (!OPEN_ORDER_STATES.includes(o.state)) throw new RbError('RB_ERR_CONFLICT', `the order is ${o.state}: only an open order can be whistled`);
        const values = {
          id,
          order_id: orderId,
          estate: o.estate,
          department: dept.id,
          whistled_by: actor.kind === 'user' ? `user:${actor.id}` : actor.kind,
          note: input.note ?? null,
          whistled_at: at,
          check_in_by: at + deps.checkInWithinMs,
          report_by: at + deps.reportWithinMs,
          checked_in_at: null,
          reported_at: null,
          report: null,
          token_hash: sha256(token),
          missed_at: null,
          notify_state: dept.contact ? ('pending' as const) : ('none' as const),
          notify_attempts: 0,
          notify_next_at: dept.contact ? at : null,
          notify_error: null,
        };
        await trx.insertInto('order_whistles').values(values).execute();
        const note = `吹哨 ${dept.name.zh}${input.note ? `：${input.note}` : ''}`;
        await deps.orders.recordStep(orderId, { action: 'whistled', note, detail: { whistle: id, department: dept.id } }, actor, { trx, ...(out ? { out } : {}) });
        return values as Row;
      });
      whistled.inc({ department: dept.id });
      if (!dept.contact) deps.log.warn({ whistle: id, order: orderId, department: dept.id }, 'whistle recorded; the department has no contact in orders.departments, so nobody was messaged');
      else if (!deps.publicUrl) deps.log.warn({ whistle: id }, 'notify.publicUrl is not set: the whistle message carries a link without the hub address');
      if (dept.contact) await tell(row, at).catch((err: unknown) => deps.log.warn({ err, whistle: id }, 'telling a whistled department failed; the sweep retries'));
      return view(row, at);
    },
    async byToken(token) {
      const r = await rowByToken(token);
      const order = r && (await deps.orders.get(r.order_id));
      return r && order ? { whistle: view(r, now()), order, reportBy: Number(r.report_by) } : undefined;
    },
    checkIn: (token) => onToken(token, 'checked_in'),
    report: (token, text) => onToken(token, 'reported', text),
    async sweep(at, owns) {
      let missed = 0;
      const late = await db
        .selectFrom('order_whistles')
        .selectAll()
        .where('missed_at', 'is', null)
        .where('checked_in_at', 'is', null)
        .where('check_in_by', '<', at)
        .limit(500)
        .execute();
      for (const r of late.filter((w) => owns(w.estate))) {
        if (await markMissed(r, at)) {
          missed++;
          await pushOrder(r.order_id, at);
        }
      }
      let told = 0;
      const pending = await db.selectFrom('order_whistles').selectAll().where('notify_state', '=', 'pending').where('notify_next_at', '<=', at).limit(100).execute();
      for (const r of pending.filter((w) => owns(w.estate))) if (await tell(r, at).catch(() => false)) told++;
      return { missed, told };
    },
  };
}
