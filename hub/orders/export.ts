import { Router } from 'express';
import { z } from 'zod';
import { Id } from '../../protocol/index.js';
import { ORDER_SOURCES, ORDER_STATES, ORDER_TIERS, type OrderSource, type OrderState, type OrderTier, type WorkOrderView } from '../../protocol/work-orders.js';
import { estatesToRead, principalOf, requireRole, userAuth } from '../api/user-auth.js';
import type { Audit } from '../audit.js';
import { RbError } from '../errors.js';
import type { People } from '../people/index.js';
import { actorOf } from '../people/principals.js';
import { CATEGORY_LABELS, RATING_LABELS } from '../residents/labels.js';
import type { WorkOrders } from './types.js';

/**
 * `GET /api/v1/work-orders/export.csv` (center, admin): the orders of the estates in scope as CSV for a
 * spreadsheet, newest first, at most `MAX_ROWS`. Every text a resident, a caller or the city wrote is a
 * cell's text and nothing more: quoted as RFC 4180 says, and a cell that a spreadsheet would read as a
 * formula (starting with = + - @, a tab or a carriage return) is prefixed with an apostrophe (OWASP,
 * "CSV injection"). Phone numbers masked, as in every view; the export is audited.
 */
const MAX_ROWS = 50_000;

const SOURCE_LABELS: Record<OrderSource, string> = { resident: '居民报事', alert: '告警转工单', phone: '来电登记', hotline: '12345', staff: '工作人员' };
const TIER_LABELS: Record<OrderTier, string> = { grid: '网格', community: '社区', street: '街道' };
const STATE_LABELS: Record<OrderState, string> = { new: '新建', assigned: '已派单', in_progress: '处理中', resolved: '已办结', closed: '已关闭', reopened: '已重开' };

const Query = z
  .object({
    estate: Id.optional(),
    state: z.enum(ORDER_STATES).optional(),
    source: z.enum(ORDER_SOURCES).optional(),
    tier: z.enum(ORDER_TIERS).optional(),
  })
  .strict();

/** One CSV cell: never a formula, quoted when it must be. */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const time = (at: number | null | undefined, timeZone: string): string =>
  at ? new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).format(at) : '';

const HEADER = ['工单号', '小区', '来源', '类别', '层级', '状态', '标题', '描述', '楼栋', '单元', '电话', '12345编号', '登记时间', '期限', '办结时间', '评价'];

function row(o: WorkOrderView, timeZone: string): string {
  return [
    o.no,
    o.estateName ?? o.estate,
    SOURCE_LABELS[o.source],
    CATEGORY_LABELS[o.category][0],
    TIER_LABELS[o.tier],
    STATE_LABELS[o.state],
    o.title,
    o.description,
    o.building,
    o.unit,
    o.phone,
    o.externalNo,
    time(o.createdAt, timeZone),
    time(o.deadlineAt, timeZone),
    time(o.resolvedAt, timeZone),
    o.rating ? RATING_LABELS[o.rating][0] : '',
  ]
    .map(csvCell)
    .join(',');
}

export function exportRoutes(deps: { people: People; audit: Audit; orders: Pick<WorkOrders, 'list'>; timeZone: string }): Router {
  const router = Router();
  const auth = userAuth(deps.people.principals);
  router.get('/api/v1/work-orders/export.csv', auth, async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const parsed = Query.safeParse(req.query);
    if (!parsed.success) throw new RbError('RB_ERR_BAD_QUERY', parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '));
    const { estate, state, ...filters } = parsed.data;
    const estates = estatesToRead(p, estate);
    const lines = [HEADER.map(csvCell).join(',')];
    let cursor: string | undefined;
    do {
      const page = await deps.orders.list({ ...filters, ...(estates ? { estates } : {}), ...(state ? { states: [state] } : {}), limit: 500, ...(cursor ? { cursor } : {}) });
      // Phones come masked in every view: the full number is read one order at a time, audited.
      for (const o of page.items) lines.push(row(o, deps.timeZone));
      cursor = page.nextCursor;
    } while (cursor && lines.length <= MAX_ROWS);
    await deps.audit.record({ actor: actorOf(p), action: 'order.export', target: 'work-orders', detail: { estate: estate ?? null, rows: lines.length - 1 } });
    res
      .type('text/csv; charset=utf-8')
      .set({ 'Content-Disposition': `attachment; filename="work-orders${estate ? `-${estate}` : ''}.csv"`, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
      // A byte-order mark: spreadsheets then read the Chinese as UTF-8.
      .send(`\uFEFF${lines.slice(0, MAX_ROWS + 1).join('\r\n')}\r\n`);
  });
  return router;
}
