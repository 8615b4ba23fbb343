import type { DashboardSpec } from './builders.js';
import { t } from './i18n.js';
import { E, ESTATE_NAME, HIDDEN, OPEN_STEPS, openAlertsPanel, stat, typeLegend } from './panels.js';

const OPEN_NOW = `FROM "raw"."alerts_open" WHERE ${E} AND "state" <> 'resolved'`;

/** The street office's first screen: its estates, what is open now, traffic by type. */
export const streetOverview: DashboardSpec = {
  uid: 'rb-street-overview',
  title: t('红管家 · 街道总览', 'Red Butler · Street overview'),
  description: t('街道各小区：网关在线、未关闭告警、每小时事件', 'Estates of the street: gateways online, open alerts, events per hour by type'),
  from: 'now-7d',
  estate: 'multi',
  links: [{ title: t('红管家街道大屏', "Red Butler's street screen"), url: '${hub_url}/street', blank: true }],
  panels: [
    stat(
      t('小区', 'Estates'),
      t('时间范围内有网关状态的小区', 'Estates with a gateway status in the range'),
      `SELECT count("online") FROM (SELECT last("online") AS "online" FROM "raw"."gateway_status" WHERE ${E} AND $timeFilter GROUP BY "estate")`,
    ),
    stat(
      t('在线网关', 'Gateways online'),
      t('最近一次状态或连接为在线的网关', 'Gateways whose last status or connection in the range says online'),
      `SELECT sum("online") FROM (SELECT last("online") AS "online" FROM "raw"."gateway_status" WHERE ${E} AND $timeFilter GROUP BY "estate", "gateway")`,
    ),
    stat(t('未关闭告警', 'Open alerts'), t('当前尚未处置的告警', 'Alerts not resolved yet'), `SELECT count("alert_id") ${OPEN_NOW}`, { thresholds: OPEN_STEPS, noValue: '0' }),
    stat(t('事件', 'Events'), t('时间范围内的事件（小时汇总）', 'Events in the range (hourly roll-up)'), `SELECT sum("events") FROM "hourly"."events_hourly" WHERE ${E} AND $timeFilter`),
    {
      kind: 'table',
      title: t('各小区', 'Estates'),
      description: t(
        '每个小区一行：在线网关、未关闭告警、时间范围内事件数。点击名称进入小区详情、设备健康或红管家小区页面。',
        "One row per estate: gateways online, open alerts, events in the range. Click a name for the estate's dashboards or its screen on the hub.",
      ),
      w: 24,
      // Four lookups merged into one row per estate (the `estate` column is the one they share).
      queries: [
        { q: `SELECT last("name") AS "name" FROM "raw"."estate_names" WHERE ${E} GROUP BY "estate"` },
        { q: `SELECT sum("online") AS "gateways_online" FROM (SELECT last("online") AS "online" FROM "raw"."gateway_status" WHERE ${E} AND $timeFilter GROUP BY "estate", "gateway") GROUP BY "estate"` },
        { q: `SELECT count("alert_id") AS "open_alerts" ${OPEN_NOW} GROUP BY "estate"` },
        { q: `SELECT sum("events") AS "events" FROM "hourly"."events_hourly" WHERE ${E} AND $timeFilter GROUP BY "estate"` },
      ],
      transformations: [
        { id: 'organize', options: { excludeByName: { Time: true } } },
        { id: 'merge', options: {} },
      ],
      columns: {
        estate: HIDDEN,
        name: ESTATE_NAME,
        gateways_online: { title: t('在线网关', 'Gateways online'), noValue: '0' },
        open_alerts: { title: t('未关闭告警', 'Open alerts'), thresholds: OPEN_STEPS, noValue: '0' },
        events: { title: t('事件', 'Events'), noValue: '0' },
      },
      sortBy: { column: t('未关闭告警', 'Open alerts'), desc: true },
    },
    openAlertsPanel(),
    {
      kind: 'timeseries',
      title: t('每小时事件（按类型）', 'Events per hour by type'),
      description: t('来自小时汇总（cq_events_hourly）', 'From the hourly roll-up (cq_events_hourly)'),
      w: 24,
      stacked: true,
      queries: [{ q: `SELECT sum("events") FROM "hourly"."events_hourly" WHERE ${E} AND $timeFilter GROUP BY time(1h), "type" fill(0)`, alias: '$tag_type' }],
      legend: typeLegend(/./),
    },
  ],
};
