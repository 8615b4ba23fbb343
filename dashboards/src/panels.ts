import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { PanelSpec } from './builders.js';
import type { ColumnSpec, LinkSpec, Steps, ValueMap } from './fields.js';
import { ALERT_STATES, EVENT_TYPES, LEVELS, RULES, SEVERITIES, t, type Text } from './i18n.js';

/**
 * What the dashboards share: the estate filter, the colour steps, the value names and links, the
 * table of alerts open now and the name lookups. Every query reads the InfluxDB schema of
 * docs/storage.md; `$estate` narrows to the estates of the chosen `$street`s (a chained variable),
 * so every panel filters by estate only.
 */
export const E = `"estate" =~ /^$estate$/`;
export const EVENTS = '"raw"."events"';
export const eventsWhere = (type: string): string => `WHERE ${E} AND "type" ${type} AND $timeFilter`;

/**
 * Time to acknowledge and to resolve (docs/deploy.md, "Thresholds"): green under 5 minutes (the
 * on-duty volunteers answered before the first escalation, `ackMinutes[0]` = 5), yellow under 15,
 * red beyond (the alert went through the volunteers and the patrol and is near the street center's
 * level at 20 minutes).
 */
export const RESPONSE_STEPS: Steps = [
  { value: null, color: 'green' },
  { value: 5 * 60, color: 'yellow' },
  { value: 15 * 60, color: 'red' },
];

/** Alerts open: none green, some orange, five or more red. */
export const OPEN_STEPS: Steps = [
  { value: null, color: 'green' },
  { value: 1, color: 'orange' },
  { value: 5, color: 'red' },
];

const valueMap = (entries: Record<string, Text | { text: Text; color: string }>): ValueMap =>
  Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, 'zh' in v ? { text: v } : v]));

export const SEVERITY_MAP = valueMap(SEVERITIES);
export const RULE_MAP = valueMap(RULES);
export const STATE_MAP = valueMap(ALERT_STATES);
export const LEVEL_MAP = valueMap(LEVELS);

/** Series names for the event types a panel shows (the alias is `$tag_type`). */
export const typeLegend = (re: RegExp): Record<string, Text> => Object.fromEntries(Object.entries(EVENT_TYPES).filter(([type]) => re.test(type)));
export const SEVERITY_LEGEND: Record<string, Text> = Object.fromEntries(Object.entries(SEVERITIES).map(([k, v]) => [k, v.text]));

/** From a row with an `estate` column (the id, hidden) to the estate's dashboards and its screen on the hub. */
export const ESTATE_LINKS: LinkSpec[] = [
  { title: t('小区详情', 'Estate detail'), url: '{uid:rb-estate-detail}?var-estate=${__data.fields.estate}&${__url_time_range}' },
  { title: t('设备健康', 'Device health'), url: '{uid:rb-device-health}?var-estate=${__data.fields.estate}&${__url_time_range}' },
  { title: t('在红管家打开小区页面', "Open the estate's screen in Red Butler"), url: '${hub_url}/estate/${__data.fields.estate}', blank: true },
];

/** The top-bar link of a one-estate dashboard to the hub's screen of that estate. */
export const HUB_ESTATE_LINK: LinkSpec = { title: t('在红管家打开本小区', 'Open this estate in Red Butler'), url: '${hub_url}/estate/${estate}', blank: true };

export const HIDDEN: ColumnSpec = { hidden: true };
export const ESTATE_NAME: ColumnSpec = { title: t('小区', 'Estate'), links: ESTATE_LINKS };

/**
 * Tables of raw events show device names by merging a lookup query into them: the time columns
 * dropped (each InfluxDB table has its own), then Grafana's `merge` puts the rows with the same
 * `device` (the one column every frame has) into one row. One row per device in every frame, so
 * each count is its own query. Devices of the lookup without any count are then left out.
 */
export function mergeNames(counts: readonly string[]): dashboard.DataTransformerConfig[] {
  return [
    { id: 'organize', options: { excludeByName: { Time: true } } },
    { id: 'merge', options: {} },
    {
      id: 'filterByValue',
      options: { type: 'exclude', match: 'all', filters: counts.map((fieldName) => ({ fieldName, config: { id: 'isNull', options: {} } })) },
    },
  ];
}

/** The device-name lookup of the chosen estate (one estate: device ids are unique within it). */
export const DEVICE_NAMES = { q: `SELECT last("name") AS "device_name" FROM "raw"."device_names" WHERE ${E} GROUP BY "device"` };
export const DEVICE_COLUMNS: Record<string, ColumnSpec> = { device: HIDDEN, device_name: { title: t('设备', 'Device') } };

/**
 * Alerts open now, one row per alert, from `alerts_open` (hub/store/facts.ts alertOpenFact: one
 * point per alert at its opening time, updated by each transition). InfluxQL filters on the last
 * transition; the transformation drops a row that carries `resolved_at` (written only by the
 * resolution) in case a late write of an earlier transition overwrote `state`. No time filter: an
 * alert opened before the dashboard's range is still open (the raw retention bounds the scan).
 */
export function openAlertsPanel(h = 9): PanelSpec {
  return {
    kind: 'table',
    title: t('当前未关闭的告警', 'Alerts open now'),
    description: t(
      '尚未处置的告警：开启多久、小区、类型、严重程度、已通知到哪一级、状态。点击小区名称打开红管家的小区页面。',
      "Alerts not resolved yet: how long open, estate, type, severity, who has been notified, state. Click the estate's name for its screen on the hub.",
    ),
    w: 24,
    h,
    queries: [
      {
        q: `SELECT "estate_name", "rule", "severity", "level", "state", "estate", "alert_id", "resolved_at" FROM "raw"."alerts_open" WHERE ${E} AND "state" <> 'resolved'`,
      },
    ],
    transformations: [
      { id: 'filterByValue', options: { type: 'exclude', match: 'any', filters: [{ fieldName: 'resolved_at', config: { id: 'isNotNull', options: {} } }] } },
    ],
    columns: {
      $time: { title: t('开启于', 'Opened'), unit: 'dateTimeFromNow' },
      estate_name: ESTATE_NAME,
      rule: { title: t('类型', 'Type'), mappings: RULE_MAP },
      severity: { title: t('严重程度', 'Severity'), mappings: SEVERITY_MAP },
      level: { title: t('已通知到', 'Notified up to'), mappings: LEVEL_MAP },
      state: { title: t('状态', 'State'), mappings: STATE_MAP },
      estate: HIDDEN,
      alert_id: HIDDEN,
      resolved_at: HIDDEN,
    },
    sortBy: { column: t('严重程度', 'Severity'), desc: true },
  };
}

export function stat(title: Text, description: Text, q: string, extra: Partial<PanelSpec> = {}): PanelSpec {
  return { kind: 'stat', title, description, queries: [{ q }], ...extra };
}
