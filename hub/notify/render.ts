import { localTime } from '../../lib/zoned.js';
import type { Address, Lang, OutgoingMessage } from './channel.js';

/**
 * What a notification says, in the recipient's language (zh-CN first, English): a short title, a
 * plain text an SMS or a robot shows (ending with the one-tap ack link), and the same facts as
 * template parameters for providers that only send approved templates (SMS, voice).
 */

/** Words for each alert rule (the same words as the screens: web/src/i18n). */
const EVENTS: Record<string, { 'zh-CN': string; en: string }> = {
  'door.forced': { 'zh-CN': '门被强行打开', en: 'Door forced open' },
  'door.held': { 'zh-CN': '门长时间未关', en: 'Door held open' },
  'access.denied.burst': { 'zh-CN': '频繁拒绝通行', en: 'Repeated access denied' },
  'device.tamper': { 'zh-CN': '设备被拆', en: 'Device tampered' },
  'barrier.fault': { 'zh-CN': '道闸故障', en: 'Barrier fault' },
  'plate.blocklisted': { 'zh-CN': '黑名单车辆', en: 'Blocklisted vehicle' },
  'vehicle.overstay': { 'zh-CN': '访客车辆超时未离', en: 'Visitor vehicle overstaying' },
  'camera.offline': { 'zh-CN': '摄像机离线', en: 'Camera offline' },
  'camera.signalLoss': { 'zh-CN': '摄像机信号丢失', en: 'Camera signal lost' },
  'motion.night': { 'zh-CN': '夜间移动侦测', en: 'Motion at night' },
  'gateway.offline': { 'zh-CN': '网关离线', en: 'Gateway offline' },
  'gateway.pressure': { 'zh-CN': '网关数据积压', en: 'Gateway backlog' },
  'device.attention': { 'zh-CN': '设备需要维护', en: 'Device needs maintenance' },
};

/** The short code an SMS reply acknowledges with (docs/notifications.md). */
export const REPLY_CODE = '1';

export interface RenderInput {
  id: string;
  to: Address;
  lang: Lang;
  alert: { id: string; rule: string; severity: number; estate: string; device: string; openedAt: number; estateName?: string; deviceName?: string };
  level: number;
  timeZone: string;
  ackUrl?: string | undefined;
}

export function eventWords(rule: string, lang: Lang): string {
  return EVENTS[rule]?.[lang] ?? rule;
}

export function renderMessage(m: RenderInput): OutgoingMessage {
  const a = m.alert;
  const l = localTime(a.openedAt, m.timeZone);
  const time = `${String(Math.floor(l.minute / 60)).padStart(2, '0')}:${String(l.minute % 60).padStart(2, '0')}`;
  const estate = a.estateName ?? a.estate;
  const device = a.deviceName ?? a.device;
  const event = eventWords(a.rule, m.lang);
  const zh = m.lang === 'zh-CN';
  if (a.rule === 'test') return testMessage(m, time);
  if (a.rule === 'order.escalated') return orderMessage(m, estate, time);
  const title = zh ? `【红管家】${event} · ${estate} ${device}` : `[Red Butler] ${event} · ${estate} ${device}`;
  const escalated = m.level > 0 ? (zh ? `（已升级至第${m.level}级）` : ` (escalated to level ${m.level})`) : '';
  const ack = m.ackUrl ? (zh ? ` 回复 ${REPLY_CODE} 或点此确认：${m.ackUrl}` : ` Reply ${REPLY_CODE} or tap to acknowledge: ${m.ackUrl}`) : '';
  const text = zh
    ? `${estate} ${device} ${time} ${event}，${a.severity}级告警${escalated}。${ack}`.trim()
    : `${estate} ${device} at ${time}: ${event}, severity ${a.severity}${escalated}.${ack}`;
  return {
    id: m.id,
    to: m.to,
    lang: m.lang,
    alertId: a.id,
    severity: a.severity,
    title,
    text,
    params: { estate, device, event, time, reply: REPLY_CODE },
    ...(m.ackUrl ? { ackUrl: m.ackUrl } : {}),
  };
}

/** A work order past its deadline moved up to this person's tier (hub/notify/order-notice.ts): no ack link, no reply code. */
function orderMessage(m: RenderInput, estate: string, time: string): OutgoingMessage {
  const zh = m.lang === 'zh-CN';
  const order = m.alert.deviceName ?? m.alert.device;
  const tier = m.level >= 2 ? (zh ? '街道' : 'the street') : zh ? '社区' : 'the community';
  const event = zh ? '工单超时升级' : 'Work order overdue';
  return {
    id: m.id,
    to: m.to,
    lang: m.lang,
    alertId: m.alert.id,
    severity: m.alert.severity,
    title: zh ? `【红管家】${event} · ${estate}` : `[Red Butler] ${event} · ${estate}`,
    text: zh ? `${estate} 工单 ${order}（${time} 登记）未按时办结，已升级至${tier}，请尽快处理。` : `${estate}: work order ${order} (filed ${time}) was not resolved in time and moved up to ${tier}; please take it on.`,
    params: { estate, device: order, event, time, reply: '' },
  };
}

/** "Send a test": says the channel reaches the person, asks for nothing. */
function testMessage(m: RenderInput, time: string): OutgoingMessage {
  const zh = m.lang === 'zh-CN';
  return {
    id: m.id,
    to: m.to,
    lang: m.lang,
    alertId: m.alert.id,
    severity: 0,
    title: zh ? '【红管家】测试消息' : '[Red Butler] Test message',
    text: zh ? `红管家测试消息 ${time}：此渠道可以联系到您，无需回复。` : `Red Butler test message at ${time}: this channel reaches you. No reply needed.`,
    params: { estate: zh ? '红管家' : 'Red Butler', device: zh ? '测试' : 'test', event: zh ? '测试消息' : 'test message', time, reply: REPLY_CODE },
  };
}

/** A phone number with its middle hidden: 138****5678 (the same for +86 numbers). */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/[^\d+]/g, '');
  if (digits.length <= 4) return '****';
  const keepEnd = 4;
  const keepStart = Math.min(3 + (digits.startsWith('+') ? 3 : 0), digits.length - keepEnd - 1);
  return `${digits.slice(0, Math.max(0, keepStart))}****${digits.slice(-keepEnd)}`;
}

/**
 * An address as logs and the alert view may show it: never a whole phone number, never a push
 * subscription's endpoint path or keys (the endpoint URL is a bearer capability), never a robot key.
 */
export function maskAddress(address: Address | null, channelId: string): string {
  if (!address) return channelId;
  switch (address.kind) {
    case 'phone':
      return maskPhone(address.phone);
    case 'wecom-user':
      return `${address.userId.slice(0, 2)}***`;
    case 'push': {
      try {
        return `push:${new URL(address.subscription.endpoint).host}`;
      } catch {
        return 'push';
      }
    }
    case 'group':
      return channelId;
  }
}
