import type { DashboardSpec, PanelSpec } from './builders.js';
import type { ColumnSpec } from './fields.js';
import { RULES, t, type Text } from './i18n.js';
import { E, ESTATE_NAME, HIDDEN, RESPONSE_STEPS, SEVERITY_LEGEND, SEVERITY_MAP } from './panels.js';

/** Mean and 90th percentile coloured by the response steps (green < 5 min, yellow < 15, red beyond). */
const RESPONSE_COLUMNS: Record<string, ColumnSpec> = {
  mean: { title: t('平均', 'Mean'), unit: 's', thresholds: RESPONSE_STEPS },
  p90: { title: t('90% 在此之内', '90th percentile'), unit: 's', thresholds: RESPONSE_STEPS },
  alerts: { title: t('告警数', 'Alerts') },
};
const BY_COLUMNS: Record<string, Record<string, ColumnSpec>> = {
  estate: { estate: HIDDEN, estate_name: ESTATE_NAME },
  severity: { severity: { title: t('严重程度', 'Severity'), mappings: SEVERITY_MAP } },
};

function responseTable(title: Text, description: Text, field: 'ack_s' | 'resolve_s', transition: string, by: Array<'estate' | 'severity'>, w = 12): PanelSpec {
  const group = by.map((b) => (b === 'estate' ? '"estate", "estate_name"' : '"severity"')).join(', ');
  return {
    kind: 'table',
    title,
    description,
    w,
    queries: [
      {
        q: `SELECT mean("${field}") AS "mean", percentile("${field}", 90) AS "p90", count("${field}") AS "alerts" FROM "raw"."alerts" WHERE ${E} AND "transition" = '${transition}' AND $timeFilter GROUP BY ${group}`,
      },
    ],
    columns: { $time: HIDDEN, ...Object.assign({}, ...by.map((b) => BY_COLUMNS[b])), ...RESPONSE_COLUMNS },
    sortBy: { column: RESPONSE_COLUMNS.p90!.title!, desc: true },
  };
}

function dailyMedian(title: Text, description: Text, field: 'ack_s' | 'resolve_s', transition: string): PanelSpec {
  return {
    kind: 'timeseries',
    title,
    description,
    unit: 's',
    thresholds: RESPONSE_STEPS,
    queries: [{ q: `SELECT median("${field}") FROM "raw"."alerts" WHERE ${E} AND "transition" = '${transition}' AND $timeFilter GROUP BY time(1d), "severity" fill(none)`, alias: '$tag_severity' }],
    legend: SEVERITY_LEGEND,
  };
}

export const alertResponse: DashboardSpec = {
  uid: 'rb-alert-response',
  title: t('红管家 · 告警响应', 'Red Butler · Alert response'),
  description: t('按小区、严重程度统计的确认与处置用时；升级次数', 'Time to acknowledge and to resolve by estate and severity; escalations'),
  from: 'now-7d',
  estate: 'multi',
  panels: [
    responseTable(t('确认用时（按小区）', 'Time to acknowledge by estate'), t('从告警开启到有人确认：平均、90% 在此之内、告警数。绿 < 5 分钟，黄 < 15 分钟，红更长', 'From opened to acknowledged: mean, 90th percentile, alerts. Green < 5 min, yellow < 15 min, red beyond'), 'ack_s', 'acknowledged', ['estate']),
    responseTable(t('确认用时（按严重程度）', 'Time to acknowledge by severity'), t('从告警开启到有人确认。绿 < 5 分钟，黄 < 15 分钟，红更长', 'From opened to acknowledged. Green < 5 min, yellow < 15 min, red beyond'), 'ack_s', 'acknowledged', ['severity']),
    responseTable(t('处置用时（按小区和严重程度）', 'Time to resolve by estate and severity'), t('从告警开启到处置完毕。绿 < 5 分钟，黄 < 15 分钟，红更长', 'From opened to resolved. Green < 5 min, yellow < 15 min, red beyond'), 'resolve_s', 'resolved', ['estate', 'severity'], 24),
    dailyMedian(t('每日确认用时中位数', 'Median time to acknowledge per day'), t('按严重程度；底色为 5 / 15 分钟界线', 'By severity; the bands are the 5 and 15 minute steps'), 'ack_s', 'acknowledged'),
    dailyMedian(t('每日处置用时中位数', 'Median time to resolve per day'), t('按严重程度；底色为 5 / 15 分钟界线', 'By severity; the bands are the 5 and 15 minute steps'), 'resolve_s', 'resolved'),
    {
      kind: 'timeseries',
      title: t('每日升级次数', 'Escalations per day'),
      description: t('升级到下一级通知对象的告警', 'Alerts that reached the next level of the escalation chain'),
      queries: [{ q: `SELECT count("alert_id") FROM "raw"."alerts" WHERE ${E} AND "transition" = 'escalated' AND $timeFilter GROUP BY time(1d), "estate", "estate_name" fill(0)`, alias: '$tag_estate_name' }],
    },
    {
      kind: 'timeseries',
      title: t('每日新告警（按类型）', 'Alerts opened per day by type'),
      description: t('新开启的告警（同一告警的重复不计）', 'New alerts (repeats of an open alert are not counted)'),
      stacked: true,
      queries: [{ q: `SELECT count("alert_id") FROM "raw"."alerts" WHERE ${E} AND "transition" = 'opened' AND $timeFilter GROUP BY time(1d), "rule" fill(0)`, alias: '$tag_rule' }],
      legend: RULES,
    },
  ],
};

function gatewaySeries(title: Text, description: Text, select: string): PanelSpec {
  return {
    kind: 'timeseries',
    title,
    description,
    queries: [{ q: `SELECT ${select} FROM "raw"."gateway_status" WHERE ${E} AND $timeFilter GROUP BY time($__interval), "estate", "estate_name", "gateway" fill(none)`, alias: '$tag_estate_name / $tag_gateway' }],
  };
}

export const gatewayHealth: DashboardSpec = {
  uid: 'rb-gateway-health',
  title: t('红管家 · 网关健康', 'Red Butler · Gateway health'),
  description: t('网关在线、待发送事件、丢弃与重连（gateway_status）', 'Gateways online, outbox depth, drops and reconnects (gateway_status facts)'),
  from: 'now-7d',
  estate: 'multi',
  panels: [
    {
      kind: 'state-timeline',
      title: t('网关在线', 'Gateway online'),
      description: t('在线 / 离线：状态消息、遗嘱消息和 MQTT 连接变化', 'Online / offline: status messages, LWT and MQTT connection changes'),
      w: 24,
      queries: [{ q: `SELECT last("online") FROM "raw"."gateway_status" WHERE ${E} AND $timeFilter GROUP BY time($__interval), "estate", "estate_name", "gateway" fill(previous)`, alias: '$tag_estate_name / $tag_gateway' }],
      mappings: { '0': { text: t('离线', 'Offline'), color: 'red' }, '1': { text: t('在线', 'Online'), color: 'green' } },
    },
    gatewaySeries(t('待发送事件', 'Outbox depth'), t('网关中等待发往红管家的事件', 'Events waiting in the gateway outbox for the hub'), 'max("outbox_depth")'),
    gatewaySeries(t('待发送报警', 'Alarms waiting'), t('待发送事件中的报警类事件（从不丢弃）', 'Alarm-class events waiting in the outbox (never dropped)'), 'max("outbox_alarms")'),
    gatewaySeries(t('丢弃的事件', 'Dropped events'), t('网关待发队列满时丢弃的普通事件（每个区间）', 'Routine events dropped at the outbox caps, per interval'), 'non_negative_difference(max("dropped_total"))'),
    gatewaySeries(t('重连次数', 'Reconnects'), t('网关启动以来失去的 MQTT 连接', 'MQTT connections lost since the gateway started'), 'max("reconnects")'),
    {
      kind: 'table',
      title: t('网关', 'Gateways'),
      description: t('最近一次上报的运行时间、重连次数、待发送事件、丢弃事件', 'Last reported uptime, reconnects, outbox depth and dropped events'),
      w: 24,
      queries: [
        {
          q: `SELECT last("uptime_s") AS "uptime_s", last("reconnects") AS "reconnects", last("outbox_depth") AS "outbox_depth", last("dropped_total") AS "dropped_total" FROM "raw"."gateway_status" WHERE ${E} AND $timeFilter GROUP BY "estate", "estate_name", "gateway"`,
        },
      ],
      columns: {
        $time: HIDDEN,
        estate: HIDDEN,
        estate_name: ESTATE_NAME,
        gateway: { title: t('网关', 'Gateway') },
        uptime_s: { title: t('运行时间', 'Uptime'), unit: 's' },
        reconnects: { title: t('重连次数', 'Reconnects') },
        outbox_depth: { title: t('待发送事件', 'Outbox depth') },
        dropped_total: { title: t('丢弃的事件', 'Dropped events'), thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }] },
      },
    },
  ],
};
