import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { DashboardSpec, PanelSpec } from './builders.js';
import type { ColumnSpec, Steps, ValueMap } from './fields.js';
import { pick, t, type Lang, type Text } from './i18n.js';
import { E, ESTATE_NAME, HIDDEN, stat } from './panels.js';

/**
 * Work orders (工单, issue 19; docs/work-orders.md "Figures"): the street overview's figures over the
 * `order_facts` the hub writes (hub/orders/facts.ts: one point per committed change of an order,
 * tags `estate`, `estate_name`, `street`, `category`, `source`, `tier`, `action`, and `rating` on a
 * rating, `month` on a creation). Every tag is an id or one of the fixed lists of
 * protocol/work-orders.ts: a resident's text never reaches a tag, so nothing a resident typed can
 * become a variable value or a series name. `$category` is a custom variable over the fixed list.
 */
export const ORDER_FACTS = '"raw"."order_facts"';
export const C = `"category" =~ /^$category$/`;
const W = `WHERE ${E} AND ${C}`;
const on = (action: string): string => `FROM ${ORDER_FACTS} ${W} AND "action" = '${action}' AND $timeFilter`;

export const CATEGORIES: Record<string, Text> = {
  repair: t('报修', 'Repair'),
  hazard: t('安全隐患', 'Hazard'),
  sanitation: t('环境卫生', 'Sanitation'),
  noise: t('噪音扰民', 'Noise'),
  help: t('求助', 'Help'),
  other: t('其他', 'Other'),
};
export const SOURCES: Record<string, Text> = {
  resident: t('居民扫码上报', 'Resident (QR)'),
  alert: t('告警转工单', 'From an alert'),
  phone: t('来电登记', 'Phone line'),
  hotline: t('12345 热线', '12345 hotline'),
  staff: t('工作人员', 'Staff'),
};
export const RATINGS: Record<string, { text: Text; color: string }> = {
  satisfied: { text: t('满意', 'Satisfied'), color: 'green' },
  basically: { text: t('基本满意', 'Basically satisfied'), color: 'yellow' },
  unsatisfied: { text: t('不满意', 'Unsatisfied'), color: 'red' },
};
export const TIERS: Record<string, Text> = { grid: t('网格', 'Grid'), community: t('社区', 'Community'), street: t('街道', 'Street') };

const map = (m: Record<string, Text | { text: Text; color: string }>): ValueMap => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, 'zh' in v ? { text: v } : v]));

/** Deadlines met and satisfied: red under 60 %, yellow under 90 %, green from 90 %. */
const PERCENT_STEPS: Steps = [
  { value: null, color: 'red' },
  { value: 60, color: 'yellow' },
  { value: 90, color: 'green' },
];
/** Median time to resolve: green within a day, yellow within three, red beyond. */
const RESOLVE_STEPS: Steps = [
  { value: null, color: 'green' },
  { value: 86_400, color: 'yellow' },
  { value: 3 * 86_400, color: 'red' },
];

/** `text : value` pairs (Grafana's custom variable syntax), in the order of protocol/work-orders.ts. */
export function categoryOptions(lang: Lang): string {
  return Object.entries(CATEGORIES)
    .map(([value, text]) => `${pick(text, lang)} : ${value}`)
    .join(', ');
}

export function categoryVariable(lang: Lang): dashboard.CustomVariableBuilder {
  return new dashboard.CustomVariableBuilder('category')
    .label(pick(t('类别', 'Category'), lang))
    .description(pick(t('工单类别（固定列表）', 'Order category (the fixed list)'), lang))
    .values(categoryOptions(lang))
    .multi(true)
    .includeAll(true)
    .current({ text: 'All', value: '$__all', selected: true });
}

/** Counts by one tag as a bar chart (table format: one row per value, the tag as the bar's name). */
function countsBy(tag: 'category' | 'source' | 'rating' | 'month', title: Text, description: Text, where: string, mappings?: ValueMap): PanelSpec {
  return {
    kind: 'barchart',
    title,
    description,
    w: 8,
    queries: [{ q: `SELECT count("order_id") AS "orders" ${where} GROUP BY "${tag}"`, format: 'table' }],
    transformations: [{ id: 'organize', options: { excludeByName: { Time: true } } }],
    columns: { [tag]: { ...(mappings ? { mappings } : {}) }, orders: { title: t('工单', 'Orders') } },
  };
}

const ESTATE_COLUMNS: Record<string, ColumnSpec> = {
  estate: HIDDEN,
  name: ESTATE_NAME,
  orders: { title: t('工单', 'Orders'), noValue: '0' },
  hotline: { title: t('12345 工单', '12345 orders'), noValue: '0' },
  median_resolve_s: { title: t('处置用时中位数', 'Median time to resolve'), unit: 's', thresholds: RESOLVE_STEPS },
  deadlines_met: { title: t('按时办结率', 'Deadlines met'), unit: 'percent', decimals: 0, thresholds: PERCENT_STEPS },
  satisfied: { title: t('满意率', 'Satisfied'), unit: 'percent', decimals: 0, thresholds: PERCENT_STEPS },
};

export const workOrders: DashboardSpec = {
  uid: 'rb-work-orders',
  title: t('红管家 · 工单', 'Red Butler · Work orders'),
  description: t(
    '各小区工单：类别、来源、处置用时、按时办结、居民满意度、12345 工单（每月）',
    'Work orders by estate: category, source, time to resolve, deadlines met, satisfaction, 12345 orders per month',
  ),
  from: 'now-7d',
  estate: 'multi',
  more: (lang) => [categoryVariable(lang)],
  links: [{ title: t('红管家街道大屏', "Red Butler's street screen"), url: '${hub_url}/street', blank: true }],
  panels: [
    stat(t('新工单', 'New orders'), t('时间范围内新建的工单', 'Orders created in the range'), `SELECT count("order_id") ${on('created')}`, { noValue: '0' }),
    stat(t('处置用时中位数', 'Median time to resolve'), t('从建单到办结（时间范围内办结的工单）', 'From creation to resolution, orders resolved in the range'), `SELECT median("resolve_s") ${on('resolved')}`, {
      unit: 's',
      thresholds: RESOLVE_STEPS,
    }),
    stat(
      t('按时办结率', 'Deadlines met'),
      t('办结前未因超时升级的工单所占比例', 'Share of resolved orders that never ran out of time (no escalation by deadline)'),
      `SELECT mean("deadline_met") * 100 ${on('resolved')}`,
      { unit: 'percent', thresholds: PERCENT_STEPS },
    ),
    stat(t('满意率', 'Satisfied'), t('居民评价中「满意」与「基本满意」所占比例', 'Share of ratings that are satisfied or basically satisfied'), `SELECT mean("satisfied") * 100 ${on('rated')}`, {
      unit: 'percent',
      thresholds: PERCENT_STEPS,
    }),
    {
      kind: 'table',
      title: t('各小区工单', 'Orders by estate'),
      description: t(
        '每个小区一行：新工单、12345 工单、处置用时中位数、按时办结率、满意率。点击名称进入小区详情或红管家小区页面。',
        "One row per estate: new orders, 12345 orders, median time to resolve, deadlines met, satisfied. Click a name for the estate's dashboards or its screen on the hub.",
      ),
      w: 24,
      queries: [
        { q: `SELECT last("name") AS "name" FROM "raw"."estate_names" WHERE ${E} GROUP BY "estate"` },
        { q: `SELECT count("order_id") AS "orders" ${on('created')} GROUP BY "estate"` },
        { q: `SELECT count("order_id") AS "hotline" ${on('created')} AND "source" = 'hotline' GROUP BY "estate"` },
        { q: `SELECT median("resolve_s") AS "median_resolve_s", mean("deadline_met") * 100 AS "deadlines_met" ${on('resolved')} GROUP BY "estate"` },
        { q: `SELECT mean("satisfied") * 100 AS "satisfied" ${on('rated')} GROUP BY "estate"` },
      ],
      transformations: [
        { id: 'organize', options: { excludeByName: { Time: true } } },
        { id: 'merge', options: {} },
        // Estates of the lookup with no order in the range are left out.
        { id: 'filterByValue', options: { type: 'exclude', match: 'all', filters: ['orders', 'median_resolve_s', 'satisfied'].map((fieldName) => ({ fieldName, config: { id: 'isNull', options: {} } })) } },
      ],
      columns: ESTATE_COLUMNS,
      sortBy: { column: t('工单', 'Orders'), desc: true },
    },
    countsBy('category', t('按类别', 'By category'), t('时间范围内新建的工单', 'Orders created in the range'), on('created'), map(CATEGORIES)),
    countsBy('source', t('按来源', 'By source'), t('居民扫码、告警转工单、来电登记、12345、工作人员', 'Resident QR report, alert, phone line, 12345 hotline, staff'), on('created'), map(SOURCES)),
    countsBy('rating', t('居民评价', 'Ratings'), t('时间范围内的居民评价', "Residents' ratings in the range"), on('rated'), map(RATINGS)),
    {
      ...countsBy(
        'month',
        t('12345 工单（每月）', '12345 orders per month'),
        t('按建单月份（红管家所在时区）统计的 12345 热线工单：与上月相比的趋势', "12345 hotline orders by the month they were created (the hub's time zone): the trend against the month before"),
        `${on('created')} AND "source" = 'hotline'`,
      ),
      w: 12,
    },
    {
      kind: 'timeseries',
      title: t('每日新工单（按类别）', 'New orders per day by category'),
      description: t('按建单日统计', 'By the day the order was created'),
      w: 12,
      stacked: true,
      queries: [{ q: `SELECT count("order_id") ${on('created')} GROUP BY time(1d), "category" fill(0)`, alias: '$tag_category' }],
      legend: CATEGORIES,
    },
    {
      kind: 'timeseries',
      title: t('每日超时升级（按升至层级）', 'Escalations per day by tier reached'),
      description: t('未按时办结、升至社区或街道的工单', 'Orders not resolved in time, moved up to the community or the street'),
      w: 12,
      queries: [{ q: `SELECT count("order_id") ${on('escalated')} GROUP BY time(1d), "tier" fill(0)`, alias: '$tag_tier' }],
      legend: TIERS,
    },
    {
      kind: 'timeseries',
      title: t('吹哨与报到（每日）', 'Whistles and check-ins per day'),
      description: t('街道或社区吹哨的部门，以及部门报到', 'Departments whistled by the street or community, and their check-ins'),
      w: 8,
      queries: [
        { q: `SELECT count("order_id") ${on('whistled')} GROUP BY time(1d) fill(0)`, alias: t('吹哨', 'Whistled') },
        { q: `SELECT count("order_id") ${on('checked_in')} GROUP BY time(1d) fill(0)`, alias: t('报到', 'Checked in') },
      ],
    },
    stat(t('报到用时中位数', 'Median time to check in'), t('从吹哨到部门报到', 'From the whistle to the department checking in'), `SELECT median("checkin_s") ${on('checked_in')}`, { unit: 's', w: 4, h: 8 }),
    stat(t('逾期报到', 'Late check-ins'), t('超过报到时限才报到的次数', 'Check-ins after their check-in time'), `SELECT sum("checkin_late") ${on('checked_in')}`, {
      w: 4,
      h: 8,
      noValue: '0',
      thresholds: [
        { value: null, color: 'green' },
        { value: 1, color: 'red' },
      ],
    }),
    {
      kind: 'timeseries',
      title: t('每日处置用时中位数', 'Median time to resolve per day'),
      description: t('底色为 1 天 / 3 天界线', 'The bands are the one and three day steps'),
      w: 8,
      unit: 's',
      thresholds: RESOLVE_STEPS,
      queries: [{ q: `SELECT median("resolve_s") ${on('resolved')} GROUP BY time(1d), "estate", "estate_name" fill(none)`, alias: '$tag_estate_name' }],
    },
  ],
};
