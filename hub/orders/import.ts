import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { zonedInstant } from '../../lib/zoned.js';
import { Id } from '../../protocol/index.js';
import { ORDER_CATEGORIES, type ImportAnswer, type ImportOutcome, type OrderCategory } from '../../protocol/work-orders.js';
export type { ImportAnswer, ImportOutcome };
import { RbError } from '../errors.js';
import type { OrderActor, WorkOrders } from './types.js';

/**
 * 12345 city-hotline orders in (issue 19 item 2, docs/work-orders.md "12345 import"): a JSON array or
 * a CSV file, each item one order of the city's with its number (`externalNo`). Idempotent by that
 * number: the work-order service returns the existing order for a number it has (`created: false`),
 * so a file imported twice creates each order once. Each item is answered on its own (created,
 * existing, or its error naming the field, and for CSV its line); one bad item does not stop the rest.
 * Text is stored as text: what the city wrote is never interpreted, every screen escapes it.
 */

/** 报修 … 其他 as the city's files write them, besides our own names. */
const CATEGORY_WORDS: Record<string, OrderCategory> = { 报修: 'repair', 维修: 'repair', 安全隐患: 'hazard', 隐患: 'hazard', 环境卫生: 'sanitation', 卫生: 'sanitation', 噪音扰民: 'noise', 噪音: 'noise', 求助: 'help', 其他: 'other' };

const Category = z.string().transform((s, ctx) => {
  const t = s.trim();
  const c = (ORDER_CATEGORIES as readonly string[]).includes(t) ? (t as OrderCategory) : CATEGORY_WORDS[t];
  if (!c) {
    ctx.addIssue({ code: 'custom', message: `unknown category ${JSON.stringify(t.slice(0, 40))}: one of ${ORDER_CATEGORIES.join(', ')} or 报修, 安全隐患, 环境卫生, 噪音扰民, 求助, 其他` });
    return z.NEVER;
  }
  return c;
});

/** ms since epoch, ISO 8601 with an offset, or the city's `YYYY-MM-DD HH:mm[:ss]` in the hub's time zone. */
const When = (timeZone: string) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    let at: number | undefined;
    if (typeof v === 'number') at = v;
    else if (/^\d{1,15}$/.test(v.trim())) at = Number(v.trim());
    else {
      const local = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(v.trim());
      if (local) at = zonedInstant(+local[1]!, +local[2]!, +local[3]!, +(local[4] ?? 0) * 60 + +(local[5] ?? 0), timeZone) + +(local[6] ?? 0) * 1000;
      else if (z.iso.datetime({ offset: true }).safeParse(v.trim()).success) at = Date.parse(v.trim());
    }
    if (at === undefined || !Number.isSafeInteger(at) || at < Date.UTC(2000, 0, 1) || at > Date.now() + 86_400_000) {
      ctx.addIssue({ code: 'custom', message: 'a time: ms since the epoch, ISO 8601 with an offset, or YYYY-MM-DD HH:mm (not in the future)' });
      return z.NEVER;
    }
    return at;
  });

const text = (max: number) => z.string().trim().max(max);
const optionalText = (max: number) => z.preprocess((v) => (v === '' || v === null ? undefined : v), text(max).optional());

export const ImportItem = (timeZone: string) =>
  z
    .object({
      externalNo: z.string().trim().regex(/^[\p{L}\p{N}._/-]{1,64}$/u, 'the city\'s order number: 1-64 letters, digits, . _ / -'),
      estate: Id,
      category: Category,
      description: text(4000).min(1, 'is required'),
      title: optionalText(200),
      building: optionalText(40),
      unit: optionalText(40),
      phone: z.preprocess((v) => (v === '' || v === null ? undefined : v), z.string().trim().regex(/^\+?[\d -]{6,20}$/, 'a phone number').optional()),
      createdAt: z.preprocess((v) => (v === '' || v === null ? undefined : v), When(timeZone).optional()),
    })
    .strict();
export type ImportItem = z.output<ReturnType<typeof ImportItem>>;

export interface ImportDeps {
  orders: Pick<WorkOrders, 'create'>;
  /** Whether the caller may import into this estate (registered and in scope). */
  estateAllowed(estate: string): boolean;
  timeZone: string;
}

/** Most items one request takes. */
export const MAX_IMPORT_ITEMS = 2000;

/** Check and create each item in turn; never throws for one item. */
export async function importOrders(deps: ImportDeps, raw: ReadonlyArray<{ value: unknown; line?: number }>, actor: OrderActor): Promise<ImportAnswer> {
  if (raw.length > MAX_IMPORT_ITEMS) throw new RbError('RB_ERR_TOO_LARGE', `at most ${MAX_IMPORT_ITEMS} orders per import; split the file`);
  const schema = ImportItem(deps.timeZone);
  const items: ImportOutcome[] = [];
  for (const [index, { value, line }] of raw.entries()) {
    const at = line === undefined ? {} : { line };
    const externalNo = typeof (value as { externalNo?: unknown } | null)?.externalNo === 'string' ? ((value as { externalNo: string }).externalNo.trim().slice(0, 64) || undefined) : undefined;
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const first = parsed.error.issues[0]!;
      const field = first.code === 'unrecognized_keys' ? first.keys[0] : first.path.map(String).join('.') || undefined;
      const message = parsed.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `${i.keys.join(', ')}: unknown column` : `${i.path.join('.') || 'item'}: ${i.message}`)).join('; ');
      items.push({ index, ...at, ...(externalNo ? { externalNo } : {}), result: 'error', error: { code: 'RB_ERR_BAD_BODY', message, ...(field ? { field } : {}) } });
      continue;
    }
    const o = parsed.data;
    if (!deps.estateAllowed(o.estate)) {
      items.push({ index, ...at, externalNo: o.externalNo, result: 'error', error: { code: 'RB_ERR_NOT_FOUND', message: `estate: no estate ${o.estate} in your scope`, field: 'estate' } });
      continue;
    }
    try {
      const r = await deps.orders.create(
        {
          estate: o.estate,
          source: 'hotline',
          category: o.category,
          description: o.description,
          externalNo: o.externalNo,
          ...(o.title ? { title: o.title } : {}),
          ...(o.building ? { building: o.building } : {}),
          ...(o.unit ? { unit: o.unit } : {}),
          ...(o.phone ? { phone: o.phone.replace(/[ -]/g, '') } : {}),
          ...(o.createdAt !== undefined ? { createdAt: o.createdAt } : {}),
        },
        actor,
      );
      items.push({ index, ...at, externalNo: o.externalNo, result: r.created ? 'created' : 'existing', id: r.order.id, no: r.order.no });
    } catch (err) {
      const e = err instanceof RbError ? { code: err.code, message: err.message } : { code: 'RB_ERR_INTERNAL', message: 'the order could not be stored' };
      items.push({ index, ...at, externalNo: o.externalNo, result: 'error', error: e });
    }
  }
  return {
    created: items.filter((i) => i.result === 'created').length,
    existing: items.filter((i) => i.result === 'existing').length,
    failed: items.filter((i) => i.result === 'error').length,
    items,
  };
}

/** Column names of the CSV header: ours, and the words a 12345 export uses. */
const COLUMNS: Record<string, keyof ImportItem> = {
  externalno: 'externalNo',
  工单编号: 'externalNo',
  工单号: 'externalNo',
  estate: 'estate',
  小区: 'estate',
  category: 'category',
  类别: 'category',
  诉求类别: 'category',
  description: 'description',
  描述: 'description',
  诉求内容: 'description',
  title: 'title',
  标题: 'title',
  building: 'building',
  楼栋: 'building',
  unit: 'unit',
  单元: 'unit',
  phone: 'phone',
  电话: 'phone',
  来电号码: 'phone',
  createdat: 'createdAt',
  时间: 'createdAt',
  受理时间: 'createdAt',
};

/**
 * A CSV (UTF-8, a header row, comma-separated, RFC 4180 quoting) → the items with their lines. A row
 * the parser cannot read (a broken quote, a row too long) becomes that row's error; a row with more
 * or fewer cells than the header, too. An unknown header column fails the whole file (400), naming it.
 */
export function csvItems(text: string): Array<{ value: unknown; line: number } | { error: string; line: number }> {
  const skipped: Array<{ error: string; line: number }> = [];
  let rows: Array<{ record: string[]; info: { lines: number } }>;
  try {
    rows = parse(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      max_record_size: 16_384,
      on_skip: (err) => void skipped.push({ error: err?.message ?? 'unreadable row', line: Number((err as { lines?: number } | undefined)?.lines ?? 0) }),
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (err) {
    throw new RbError('RB_ERR_BAD_BODY', `the CSV cannot be read: ${(err as Error).message.slice(0, 200)}`);
  }
  const [head, ...body] = rows;
  if (!head) throw new RbError('RB_ERR_BAD_BODY', 'the CSV is empty: a header row (externalNo, estate, category, description, …) and one row per order');
  const names = head.record.map((h, i) => {
    const key = COLUMNS[h.trim().toLowerCase()] ?? COLUMNS[h.trim()];
    if (!key) throw new RbError('RB_ERR_BAD_BODY', `header column ${i + 1} ${JSON.stringify(h.slice(0, 40))} is not one of ${[...new Set(Object.values(COLUMNS))].join(', ')}`);
    return key;
  });
  const out: Array<{ value: unknown; line: number } | { error: string; line: number }> = [];
  // info.lines is the line a record ENDS on (a quoted cell may span lines): a row starts after the one before.
  let end = head.info.lines;
  for (const { record, info } of body) {
    const line = end + 1;
    end = info.lines;
    if (record.length !== names.length) {
      out.push({ line, error: `has ${record.length} cells; the header has ${names.length}` });
      continue;
    }
    out.push({ line, value: Object.fromEntries(names.map((n, i) => [n, record[i]])) });
  }
  return [...out, ...skipped].sort((a, b) => a.line - b.line);
}
