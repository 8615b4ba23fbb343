import type { DashboardSpec, PanelSpec } from './builders.js';
import { t, type Text } from './i18n.js';
import { DEVICE_COLUMNS, DEVICE_NAMES, E, EVENTS, eventsWhere, HUB_ESTATE_LINK, mergeNames, openAlertsPanel, typeLegend } from './panels.js';

/**
 * One estate at a time (the `estate` variable is single-valued here): series are by event type, and
 * the device tables can merge in device names by id, which is unique within an estate.
 */

/** A count of one or more event types per device, merged with the device names. */
function deviceTable(title: Text, description: Text, counts: Array<{ as: string; type: string; title: Text }>, w = 12): PanelSpec {
  return {
    kind: 'table',
    title,
    description,
    w,
    queries: [DEVICE_NAMES, ...counts.map((c) => ({ q: `SELECT count("id") AS "${c.as}" FROM ${EVENTS} ${eventsWhere(c.type)} GROUP BY "device"` }))],
    transformations: mergeNames(counts.map((c) => c.as)),
    columns: { ...DEVICE_COLUMNS, ...Object.fromEntries(counts.map((c) => [c.as, { title: c.title }])) },
    sortBy: { column: counts[0]!.title, desc: true },
  };
}

export const estateDetail: DashboardSpec = {
  uid: 'rb-estate-detail',
  title: t('红管家 · 小区详情', 'Red Butler · Estate detail'),
  description: t('一个小区的通行、门禁报警、车辆与在场车辆、摄像机状况、未关闭告警', 'One estate: entries, door alarms, vehicles and occupancy, camera health, open alerts'),
  from: 'now-7d',
  estate: 'single',
  links: [HUB_ESTATE_LINK],
  panels: [
    {
      kind: 'timeseries',
      title: t('每小时通行', 'Entries by hour'),
      description: t('access.granted 事件', 'access.granted events'),
      queries: [{ q: `SELECT count("id") FROM ${EVENTS} ${eventsWhere(`= 'access.granted'`)} GROUP BY time(1h) fill(0)`, alias: t('通行', 'Entries') }],
    },
    {
      kind: 'timeseries',
      title: t('门禁报警', 'Door alarms'),
      description: t('门被强行打开、门长时间未关', 'door.forced and door.held events'),
      interval: '1h',
      queries: [{ q: `SELECT count("id") FROM ${EVENTS} ${eventsWhere('=~ /^door\\.(forced|held)$/')} GROUP BY time($__interval), "type" fill(none)`, alias: '$tag_type' }],
      legend: typeLegend(/^door\.(forced|held)$/),
    },
    {
      kind: 'timeseries',
      title: t('每小时车辆进出', 'Vehicles in / out per hour'),
      description: t('车辆驶入、驶出事件', 'vehicle.entered and vehicle.exited events'),
      queries: [{ q: `SELECT count("id") FROM ${EVENTS} ${eventsWhere('=~ /^vehicle\\.(entered|exited)$/')} GROUP BY time(1h), "type" fill(0)`, alias: '$tag_type' }],
      legend: typeLegend(/^vehicle\.(entered|exited)$/),
    },
    {
      kind: 'timeseries',
      title: t('在场车辆', 'Vehicle occupancy'),
      description: t('自时间范围起点起驶入减驶出（实时数在红管家小区页面）', 'Vehicles in minus vehicles out since the start of the range (the live count is on the estate screen)'),
      queries: [
        { q: `SELECT cumulative_sum(count("id")) FROM ${EVENTS} ${eventsWhere(`= 'vehicle.entered'`)} GROUP BY time(1h) fill(0)`, alias: 'in' },
        { q: `SELECT cumulative_sum(count("id")) FROM ${EVENTS} ${eventsWhere(`= 'vehicle.exited'`)} GROUP BY time(1h) fill(0)`, alias: 'out' },
      ],
      transformations: [
        { id: 'joinByField', options: { byField: 'Time', mode: 'outer' } },
        { id: 'calculateField', options: { mode: 'binary', binary: { left: 'in', operator: '-', right: 'out' }, alias: 'occupancy', replaceFields: true } },
      ],
      legend: { occupancy: t('在场车辆', 'Occupancy') },
    },
    deviceTable(t('摄像机状况', 'Camera health'), t('每台摄像机的移动侦测、遮挡、无信号事件', 'Motion, tamper and signal-loss events per camera'), [
      { as: 'motion', type: `= 'camera.motion'`, title: t('移动侦测', 'Motion') },
      { as: 'tamper', type: `= 'camera.tamper'`, title: t('被遮挡', 'Covered') },
      { as: 'signal_loss', type: `= 'camera.signalLoss'`, title: t('无信号', 'Signal lost') },
    ]),
    {
      kind: 'timeseries',
      title: t('每小时拒绝通行', 'Access denied per hour'),
      description: t('access.denied 事件', 'access.denied events'),
      queries: [{ q: `SELECT count("id") FROM ${EVENTS} ${eventsWhere(`= 'access.denied'`)} GROUP BY time(1h) fill(0)`, alias: t('拒绝通行', 'Access denied') }],
    },
    openAlertsPanel(),
  ],
};

export const deviceHealth: DashboardSpec = {
  uid: 'rb-device-health',
  title: t('红管家 · 设备健康', 'Red Butler · Device health'),
  description: t('一个小区各设备的离线时长、频繁开关的门、防拆报警', "One estate's devices: offline time, flapping doors, tamper"),
  from: 'now-7d',
  estate: 'single',
  links: [HUB_ESTATE_LINK],
  panels: [
    {
      kind: 'table',
      title: t('设备离线时长', 'Offline time per device'),
      description: t('设备离线到重新上线的分钟数（device_availability.offline_s）', 'Minutes offline: device.offline to the next device.online (device_availability.offline_s)'),
      queries: [{ q: `SELECT sum("offline_s") / 60 AS "offline_min", count("offline_s") AS "episodes" FROM "raw"."device_availability" WHERE ${E} AND $timeFilter GROUP BY "device", "device_name"` }],
      columns: {
        ...DEVICE_COLUMNS,
        offline_min: { title: t('离线时长', 'Offline'), unit: 'm', decimals: 0 },
        episodes: { title: t('离线次数', 'Times offline') },
      },
      sortBy: { column: t('离线时长', 'Offline'), desc: true },
    },
    {
      kind: 'state-timeline',
      title: t('设备在线状态', 'Device availability'),
      description: t('在线 / 离线（device.online / device.offline 事件）', 'Online / offline (device.online / device.offline events)'),
      queries: [{ q: `SELECT last("online") FROM "raw"."device_availability" WHERE ${E} AND $timeFilter GROUP BY time($__interval), "device", "device_name" fill(previous)`, alias: '$tag_device_name' }],
      mappings: { '0': { text: t('离线', 'Offline'), color: 'red' }, '1': { text: t('在线', 'Online'), color: 'green' } },
    },
    deviceTable(t('频繁开关的门', 'Flapping doors'), t('每个门的开、关事件数；数字大说明门关不牢', 'door.opened + door.closed events per device; a high count is a door that does not stay shut'), [
      { as: 'changes', type: '=~ /^door\\.(opened|closed)$/', title: t('开关次数', 'Opened + closed') },
    ]),
    deviceTable(t('防拆报警', 'Tamper'), t('设备被拆、摄像机被遮挡事件', 'device.tamper and camera.tamper events'), [
      { as: 'device_tamper', type: `= 'device.tamper'`, title: t('设备被拆', 'Device tampered') },
      { as: 'camera_tamper', type: `= 'camera.tamper'`, title: t('摄像机被遮挡', 'Camera covered') },
    ]),
  ],
};
