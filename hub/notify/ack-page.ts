import { createHash } from 'node:crypto';

/**
 * The one-tap acknowledge page (GET/POST /a/:token): plain server-rendered HTML, no script, one
 * stylesheet whose hash the page's own Content-Security-Policy names. zh-CN first, English beneath.
 */
const CSS = `body{font:16px/1.5 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f5f4;color:#1c1917}
main{max-width:28rem;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.25rem;margin:0 0 1rem}
.card{background:#fff;border-radius:.75rem;padding:1rem 1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
dl{margin:0}dt{color:#57534e;font-size:.85rem;margin-top:.5rem}dd{margin:0;font-weight:600}
.en{color:#57534e;font-size:.9rem;font-weight:400}
button{display:block;width:100%;margin-top:1.25rem;padding:1rem;font-size:1.25rem;font-weight:700;border:0;border-radius:.75rem;background:#b91c1c;color:#fff}
.ok{border-left:6px solid #15803d}.bad{border-left:6px solid #b91c1c}.code{font-family:ui-monospace,monospace;color:#57534e;font-size:.85rem}`;

export const ACK_PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(CSS).digest('base64')}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

const RULES: Record<string, [string, string]> = {
  'door.forced': ['门被强行打开', 'Door forced open'],
  'door.held': ['门长时间未关', 'Door held open'],
  'access.denied.burst': ['频繁拒绝通行', 'Repeated access denied'],
  'device.tamper': ['设备被拆', 'Device tampered'],
  'barrier.fault': ['道闸故障', 'Barrier fault'],
  'plate.blocklisted': ['黑名单车辆', 'Blocklisted vehicle'],
  'vehicle.overstay': ['访客车辆超时未离', 'Visitor vehicle overstaying'],
  'camera.offline': ['摄像机离线', 'Camera offline'],
  'camera.signalLoss': ['摄像机信号丢失', 'Camera signal lost'],
  'motion.night': ['夜间移动侦测', 'Motion at night'],
  'gateway.offline': ['网关离线', 'Gateway offline'],
  'gateway.pressure': ['网关数据积压', 'Gateway backlog'],
  'device.attention': ['设备需要维护', 'Device needs maintenance'],
};

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><meta name="referrer" content="no-referrer"><title>${esc(title)}</title><style>${CSS}</style></head><body><main>${body}</main></body></html>`;
}

export interface AckPageAlert {
  id: string;
  estate: string;
  estateName?: string;
  device: string;
  deviceName?: string;
  rule: string;
  severity: number;
  openedAt: number;
  state: string;
  acknowledgedByName?: string;
}

const bi = (zh: string, en: string): string => `${esc(zh)} <span class="en">${esc(en)}</span>`;
const time = (ms: number, timeZone: string): string => new Intl.DateTimeFormat('zh-CN', { timeZone, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).format(ms);

function facts(a: AckPageAlert, timeZone: string): string {
  const [zh, en] = RULES[a.rule] ?? [a.rule, a.rule];
  return `<dl><dt>事件 Event</dt><dd>${bi(zh, en)}</dd><dt>小区 Estate</dt><dd>${esc(a.estateName ?? a.estate)}</dd><dt>设备 Device</dt><dd>${esc(a.deviceName ?? a.device)}</dd><dt>时间 Time · 级别 Severity</dt><dd>${esc(time(a.openedAt, timeZone))} · ${a.severity}</dd></dl>`;
}

/** The alert with its 确认 button (a form posting to the same link). */
export function confirmPage(a: AckPageAlert, action: string, timeZone: string): string {
  const open = a.state === 'open' || a.state === 'escalated';
  const status = open
    ? `<form method="post" action="${esc(action)}"><button type="submit">确认 Acknowledge</button></form>`
    : a.state === 'acknowledged'
      ? `<p>${bi(`已确认${a.acknowledgedByName ? `（${a.acknowledgedByName}）` : ''}`, 'Already acknowledged')}</p>`
      : `<p>${bi('告警已处理完毕', 'This alert is resolved')}</p>`;
  return page('红管家 · 确认告警', `<h1>${bi('红管家告警', 'Red Butler alert')}</h1><div class="card">${facts(a, timeZone)}${status}</div>`);
}

/** After POST: what happened, in words. */
export function donePage(a: AckPageAlert, result: 'acknowledged' | 'already' | 'resolved', timeZone: string): string {
  const line =
    result === 'acknowledged'
      ? bi('已确认，谢谢。值班同事会看到是您确认的。', 'Acknowledged, thank you. The others on duty see that you did.')
      : result === 'already'
        ? bi(`此告警已被确认${a.acknowledgedByName ? `（${a.acknowledgedByName}）` : ''}。`, 'This alert was already acknowledged.')
        : bi('此告警已处理完毕，无需确认。', 'This alert is resolved; nothing to acknowledge.');
  return page('红管家 · 已确认', `<h1>${bi('红管家告警', 'Red Butler alert')}</h1><div class="card ok"><p>${line}</p>${facts(a, timeZone)}</div>`);
}

const REFUSALS: Record<string, [string, string]> = {
  RB_ERR_ACK_LINK_EXPIRED: ['此确认链接已过期。请打开红管家查看告警。', 'This acknowledge link has expired. Open Red Butler to see the alert.'],
  RB_ERR_ACK_LINK_INVALID: ['此确认链接无效。', 'This acknowledge link is not valid.'],
  RB_ERR_FORBIDDEN: ['您已不负责此小区，不能确认此告警。', 'This estate is no longer yours; you cannot acknowledge this alert.'],
  RB_ERR_NOT_FOUND: ['找不到此告警。', 'No such alert.'],
  RB_ERR_UNKNOWN_USER: ['此账号不存在或已停用。', 'This account does not exist or is disabled.'],
  RB_ERR_RATE_LIMITED: ['请求太频繁，请稍后再试。', 'Too many requests; try again in a minute.'],
};

export function refusedPage(code: string): string {
  const [zh, en] = REFUSALS[code] ?? ['无法确认。', 'Could not acknowledge.'];
  return page('红管家 · 无法确认', `<h1>${bi('无法确认', 'Cannot acknowledge')}</h1><div class="card bad"><p>${bi(zh, en)}</p><p class="code">${esc(code)}</p></div>`);
}
