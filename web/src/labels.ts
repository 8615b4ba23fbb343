/**
 * Words for the tokens data carries (issue 15, "honest labels"): every value shown is translated at
 * render time in the current language — never stored as text — so the language switch re-renders it.
 */
import type { Outcome } from './commands.js';
import { formatTime } from './format.js';
import { t, tOr, type MessageKey } from './i18n/index.js';
import type { Alert, RbEvent } from './types.js';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The details of an event's data in words: 1号门 · 刷卡, 2号车道 · 苏A·1**45 · 访客, … */
export function eventTokens(type: string, data: Record<string, unknown> | undefined): string[] {
  const d = data ?? {};
  const parts: string[] = [];
  const door = num(d.door);
  if (door !== undefined) parts.push(t('door.n', { n: door }));
  const reader = num(d.reader);
  if (reader !== undefined) parts.push(t('ev.reader', { n: reader }));
  const lane = num(d.lane);
  if (lane !== undefined) parts.push(t('lane.n', { n: lane }));
  const zone = num(d.zone);
  if (zone !== undefined) parts.push(t('ev.zone', { n: zone }));
  const plate = str(d.plate);
  if (plate) parts.push(plate);
  const method = str(d.method);
  if (method) parts.push(tOr('method', method));
  const list = str(d.list);
  if (list && type.startsWith('vehicle.')) parts.push(tOr('list', list));
  const reason = str(d.reason);
  if (reason) parts.push(type === 'access.denied' ? tOr('deny', reason) : type === 'vehicle.denied' ? tOr('vreason', reason) : reason);
  const held = num(d.heldS);
  if (held !== undefined) parts.push(t('ev.heldS', { n: Math.round(held) }));
  const rule = str(d.rule);
  if (rule) parts.push(rule);
  return parts;
}

export const eventDetail = (e: Pick<RbEvent, 'type' | 'data'>): string => eventTokens(e.type, e.data).join(' · ');

/** What clearing the condition of an alert means, for its rule: 门已关闭 03:12. */
export function conditionCleared(a: Pick<Alert, 'rule' | 'conditionClearedAt'>): string | null {
  if (!a.conditionClearedAt) return null;
  const time = formatTime(a.conditionClearedAt);
  const key: MessageKey =
    a.rule === 'door.forced' || a.rule === 'door.held'
      ? 'cleared.door'
      : a.rule === 'device.tamper'
        ? 'cleared.tamper'
        : a.rule === 'camera.signalLoss'
          ? 'cleared.signal'
          : a.rule === 'plate.blocklisted'
            ? 'cleared.vehicle'
            : a.rule === 'camera.offline' || a.rule === 'gateway.offline'
              ? 'cleared.online'
              : 'cleared.other';
  return t(key, { time });
}

/** A failed command in words (current language) and the device's or hub's own reason beneath. */
export function commandFailure(o: Outcome, waitS: number): { why: string; detail?: string } {
  const code = o.code ?? '';
  const key = `cmd.err.${code}`;
  let why: string;
  if (code === 'RB_ERR_NO_RESULT') why = t('cmd.err.RB_ERR_NO_RESULT', { s: waitS });
  else if (code && tOr('cmd.err', code) !== code) why = t(key as MessageKey);
  else if (o.status === 403) why = t('cmd.err.RB_ERR_FORBIDDEN');
  else why = t('cmd.err.other', { code: code || '?' });
  return { why, ...(o.message ? { detail: o.message } : {}) };
}

/** A device's name for people: its configured name, else its id. */
export const deviceLabel = (id: string, names?: ReadonlyMap<string, string>, given?: string): string => given ?? names?.get(id) ?? id;
