/**
 * The dashboards' two languages. Every title, description, column and legend name is written once
 * as `{ zh, en }`; scripts/gen-dashboards.ts writes one set per language (docs/deploy.md, "Grafana":
 * why two sets and not a `lang` variable). The event, rule and severity names are the screens' own
 * words (web/src/i18n), kept here so the generator does not depend on the web app;
 * test/dashboards/files.test.ts checks that every event type and alert rule has one.
 */
export type Lang = 'zh-CN' | 'en';
export const LANGS: readonly Lang[] = ['zh-CN', 'en'];

export interface Text {
  zh: string;
  en: string;
}

export const t = (zh: string, en: string): Text => ({ zh, en });
export const pick = (text: Text, lang: Lang): string => (lang === 'zh-CN' ? text.zh : text.en);

/** Event types (protocol/events.ts, protocol/device-events.ts). */
export const EVENT_TYPES: Record<string, Text> = {
  'access.granted': t('通行', 'Access granted'),
  'access.denied': t('拒绝通行', 'Access denied'),
  'door.opened': t('门已开', 'Door opened'),
  'door.closed': t('门已关', 'Door closed'),
  'door.forced': t('门被强行打开', 'Door forced'),
  'door.held': t('门长时间未关', 'Door held open'),
  'device.tamper': t('设备被拆', 'Tamper'),
  'device.online': t('设备上线', 'Device online'),
  'device.offline': t('设备离线', 'Device offline'),
  'vehicle.entered': t('车辆驶入', 'Vehicle in'),
  'vehicle.exited': t('车辆驶出', 'Vehicle out'),
  'vehicle.denied': t('车辆被拒', 'Vehicle denied'),
  'barrier.opened': t('道闸抬起', 'Barrier raised'),
  'barrier.closed': t('道闸落下', 'Barrier lowered'),
  'barrier.fault': t('道闸故障', 'Barrier fault'),
  'camera.motion': t('移动侦测', 'Motion'),
  'camera.tamper': t('摄像机被遮挡', 'Camera covered'),
  'camera.signalLoss': t('摄像机无信号', 'Camera signal lost'),
  'gateway.outbox.pressure': t('网关数据积压', 'Gateway backlog'),
};

/** Alert rules (hub/alerts/settings.ts RULE_NAMES). */
export const RULES: Record<string, Text> = {
  'door.forced': t('门被强行打开', 'Door forced open'),
  'door.held': t('门长时间未关', 'Door held open'),
  'access.denied.burst': t('频繁拒绝通行', 'Repeated access denied'),
  'device.tamper': t('设备被拆', 'Device tampered'),
  'barrier.fault': t('道闸故障', 'Barrier fault'),
  'plate.blocklisted': t('黑名单车辆', 'Blocklisted vehicle'),
  'vehicle.overstay': t('访客车辆超时未离', 'Visitor vehicle overstaying'),
  'camera.offline': t('摄像机离线', 'Camera offline'),
  'camera.signalLoss': t('摄像机信号丢失', 'Camera signal lost'),
  'motion.night': t('夜间移动侦测', 'Motion at night'),
  'gateway.offline': t('网关离线', 'Gateway offline'),
  'gateway.pressure': t('网关数据积压', 'Gateway backlog'),
  'device.attention': t('设备需要维护', 'Device needs maintenance'),
  'patrol.missed': t('巡更漏检', 'Patrol checkpoint missed'),
};

/** Alert severity 1 … 4, with the colour the screens use for it. */
export const SEVERITIES: Record<string, { text: Text; color: string }> = {
  '1': { text: t('提示', 'Notice'), color: 'blue' },
  '2': { text: t('一般', 'Minor'), color: 'yellow' },
  '3': { text: t('严重', 'Major'), color: 'orange' },
  '4': { text: t('紧急', 'Critical'), color: 'red' },
};

/** An alert's last transition (the `alerts_open.state` field). */
export const ALERT_STATES: Record<string, { text: Text; color: string }> = {
  opened: { text: t('未确认', 'Not acknowledged'), color: 'red' },
  escalated: { text: t('已升级，未确认', 'Escalated, not acknowledged'), color: 'dark-red' },
  acknowledged: { text: t('已确认', 'Acknowledged'), color: 'green' },
  resolved: { text: t('已处置', 'Resolved'), color: 'text' },
};

/** Escalation levels (docs/alerts.md): 0 on duty … 3 the street center. */
export const LEVELS: Record<string, Text> = {
  '0': t('值班志愿者', 'On-duty volunteers'),
  '1': t('全部志愿者', 'All volunteers'),
  '2': t('网格巡查员', 'Grid patrol'),
  '3': t('街道中心', 'Street center'),
};
