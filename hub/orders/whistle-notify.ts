import type { Logger } from 'pino';
import { localTime } from '../../lib/zoned.js';
import type { OrderCategory } from '../../protocol/work-orders.js';
import { ChannelError, type Address, type Channel, type OutgoingMessage } from '../notify/channel.js';
import { maskAddress } from '../notify/render.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { DepartmentConfig } from './deadlines.js';

/**
 * Telling a whistled department (吹哨): one message through the channel its contact names
 * (`orders.departments[].contact`), with the private link to check in and report. The whistle row is
 * its own small outbox: `notify_state` pending → sent | failed, claimed by a conditional update
 * before each attempt (so two nodes never send one row at the same time), retried with backoff on
 * the channel's retryable errors, and keyed by the whistle's id, which channels hand the provider as
 * the idempotency key (docs/notifications.md). The issue-17 outbox carries alert rows only (its
 * dispatcher looks each row's alert up), hence this.
 */

export const CATEGORY_ZH: Record<OrderCategory, string> = { repair: '报修', hazard: '安全隐患', sanitation: '环境卫生', noise: '噪音扰民', help: '求助', other: '其他' };

/** Attempts before a department's message fails for good, and the backoff between them. */
const MAX_ATTEMPTS = 6;
const BASE_MS = 30_000;
const MAX_MS = 30 * 60_000;

export interface WhistleMessageFacts {
  id: string;
  estateName: string;
  orderNo: string;
  category: OrderCategory;
  title: string;
  departmentName: string;
  checkInBy: number;
  link: string;
}

export function addressOf(contact: NonNullable<DepartmentConfig['contact']>): Address {
  if (contact.phone) return { kind: 'phone', phone: contact.phone };
  if (contact.wecomUser) return { kind: 'wecom-user', userId: contact.wecomUser };
  return { kind: 'group' };
}

export function whistleMessage(f: WhistleMessageFacts, to: Address, timeZone: string): OutgoingMessage {
  const l = localTime(f.checkInBy, timeZone);
  const time = `${String(Math.floor(l.minute / 60)).padStart(2, '0')}:${String(l.minute % 60).padStart(2, '0')}`;
  const what = CATEGORY_ZH[f.category];
  return {
    id: f.id,
    to,
    lang: 'zh-CN',
    alertId: `whistle:${f.id}`,
    severity: 0,
    title: `【红管家】吹哨报到 · ${f.estateName}`,
    text: `${f.departmentName}：${f.estateName} 工单 ${f.orderNo}（${what}）${f.title}。请于 ${time} 前报到并反馈：${f.link}`,
    params: { estate: f.estateName, device: f.orderNo, event: `吹哨报到·${what}`, time, reply: '' },
    ackUrl: f.link,
  };
}

export interface WhistleSenderDeps {
  db: HubDatabase;
  channels: ReadonlyMap<string, Channel>;
  sendTimeoutMs: number;
  log: Logger;
}

/**
 * Claim the row (pending, this attempt number, due), send, record. Returns the state it left the row
 * in, or null when another sender had it.
 */
export async function deliverWhistle(
  deps: WhistleSenderDeps,
  row: { id: string; notify_attempts: number },
  contact: NonNullable<DepartmentConfig['contact']>,
  facts: WhistleMessageFacts,
  timeZone: string,
  now: number,
): Promise<'sent' | 'pending' | 'failed' | null> {
  const { db } = deps.db;
  const attempt = Number(row.notify_attempts) + 1;
  const claimed = await db
    .updateTable('order_whistles')
    .set({ notify_attempts: attempt, notify_next_at: now + 2 * deps.sendTimeoutMs })
    .where('id', '=', row.id)
    .where('notify_state', '=', 'pending')
    .where('notify_attempts', '=', attempt - 1)
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) return null;
  const to = addressOf(contact);
  const channel = deps.channels.get(contact.channel);
  const record = async (state: 'sent' | 'pending' | 'failed', error: string | null, nextAt: number | null) => {
    await db.updateTable('order_whistles').set({ notify_state: state, notify_error: error, notify_next_at: nextAt }).where('id', '=', row.id).execute();
    return state;
  };
  if (!channel) return record('failed', `RB_ERR_NOTIFY_NO_CHANNEL: no channel ${contact.channel} in notify.channels`, null);
  if (!channel.accepts.includes(to.kind)) return record('failed', `RB_ERR_NOTIFY_REJECTED: channel ${contact.channel} does not send to a ${to.kind} address`, null);
  const log = { whistle: row.id, channel: channel.id, to: maskAddress(to, channel.id), attempt };
  try {
    await channel.send(whistleMessage(facts, to, timeZone), { signal: AbortSignal.timeout(deps.sendTimeoutMs) });
    deps.log.info(log, 'whistled department told');
    return await record('sent', null, null);
  } catch (thrown) {
    const err = thrown instanceof ChannelError ? thrown : new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', `send failed: ${thrown instanceof Error ? thrown.message.slice(0, 200) : 'unknown error'}`);
    const message = `${err.code}: ${err.message}`.slice(0, 500);
    if (err.retryable && attempt < MAX_ATTEMPTS) {
      const wait = Math.max(Math.min(MAX_MS, BASE_MS * 2 ** (attempt - 1)), err.retryAfterMs ?? 0);
      deps.log.warn({ ...log, code: err.code, retryInMs: wait }, 'telling a whistled department failed; retrying');
      return record('pending', message, now + wait);
    }
    deps.log.warn({ ...log, code: err.code, message: err.message }, 'telling a whistled department failed');
    return record('failed', message, null);
  }
}
