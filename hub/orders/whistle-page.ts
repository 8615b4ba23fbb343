import { createHash } from 'node:crypto';
import type { WhistleView, WorkOrderView } from '../../protocol/work-orders.js';
import { CATEGORY_ZH } from './whistle-notify.js';

/**
 * The whistled department's page (GET/POST /w/:token, no account): the order, then a 报到 (check in)
 * button, then a report form, then the report as sent. Plain server-rendered HTML like the ack page
 * (hub/notify/ack-page.ts): no script, one stylesheet named by hash in the page's own CSP, zh-CN first
 * with English beneath. Every text from the order or the department is escaped: it is shown as text.
 */
const CSS = `body{font:16px/1.5 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f5f4;color:#1c1917}
main{max-width:30rem;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.25rem;margin:0 0 1rem}
.card{background:#fff;border-radius:.75rem;padding:1rem 1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12);margin-bottom:1rem}
dl{margin:0}dt{color:#57534e;font-size:.85rem;margin-top:.5rem}dd{margin:0;font-weight:600;white-space:pre-wrap;word-break:break-word}
.en{color:#57534e;font-size:.9rem;font-weight:400}
textarea{width:100%;box-sizing:border-box;min-height:8rem;font:inherit;padding:.5rem;border:1px solid #a8a29e;border-radius:.5rem}
button{display:block;width:100%;margin-top:1rem;padding:1rem;font-size:1.25rem;font-weight:700;border:0;border-radius:.75rem;background:#b91c1c;color:#fff}
.ok{border-left:6px solid #15803d}.bad{border-left:6px solid #b91c1c}.code{font-family:ui-monospace,monospace;color:#57534e;font-size:.85rem}`;

export const WHISTLE_PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(CSS).digest('base64')}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const bi = (zh: string, en: string): string => `${esc(zh)} <span class="en">${esc(en)}</span>`;
const time = (ms: number, timeZone: string): string =>
  new Intl.DateTimeFormat('zh-CN', { timeZone, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).format(ms);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><meta name="referrer" content="no-referrer"><title>${esc(title)}</title><style>${CSS}</style></head><body><main>${body}</main></body></html>`;
}

/** What the POST did, said above the order. */
export type WhistleNotice = 'checked_in' | 'reported' | 'already' | 'not_checked_in' | 'empty_report';
const NOTICES: Record<WhistleNotice, [string, string, boolean]> = {
  checked_in: ['已报到，谢谢。请处理后在下方反馈。', 'Checked in, thank you. Report back below once handled.', true],
  reported: ['反馈已提交，谢谢。', 'Report sent, thank you.', true],
  already: ['此操作已完成。', 'Already done.', true],
  not_checked_in: ['请先报到，再反馈。', 'Check in first, then report.', false],
  empty_report: ['请填写反馈内容。', 'Write what was done.', false],
};

export function whistlePage(w: WhistleView & { reportBy?: number }, o: WorkOrderView, action: string, timeZone: string, notice?: WhistleNotice): string {
  const n = notice ? NOTICES[notice] : undefined;
  const banner = n ? `<div class="card ${n[2] ? 'ok' : 'bad'}"><p>${bi(n[0], n[1])}</p></div>` : '';
  const place = [o.building, o.unit].filter(Boolean).join(' ');
  const facts = `<dl><dt>工单 Order</dt><dd>${esc(o.no)} · ${esc(CATEGORY_ZH[o.category] ?? o.category)}</dd><dt>小区 Estate</dt><dd>${esc(o.estateName ?? o.estate)}${place ? ` · ${esc(place)}` : ''}</dd><dt>事项 Title</dt><dd>${esc(o.title)}</dd><dt>描述 Description</dt><dd>${esc(o.description)}</dd><dt>吹哨 Whistled · 报到截止 Check in by</dt><dd>${esc(time(w.whistledAt, timeZone))} · ${esc(time(w.checkInBy, timeZone))}</dd>${w.reportBy ? `<dt>反馈截止 Report by</dt><dd>${esc(time(w.reportBy, timeZone))}</dd>` : ''}</dl>`;
  let step: string;
  if (w.checkedInAt === null || w.checkedInAt === undefined) {
    const late = w.missed ? `<p>${bi('已超过报到时间，仍请报到。', 'The check-in time has passed; please check in anyway.')}</p>` : '';
    step = `${late}<form method="post" action="${esc(action)}"><input type="hidden" name="action" value="checkin"><button type="submit">报到 Check in</button></form>`;
  } else if (w.reportedAt === null || w.reportedAt === undefined) {
    step = `<p>${bi(`已报到 ${time(w.checkedInAt, timeZone)}`, 'Checked in')}</p><form method="post" action="${esc(action)}"><input type="hidden" name="action" value="report"><label for="report">${bi('处理反馈', 'What was done')}</label><textarea id="report" name="report" maxlength="2000" required></textarea><button type="submit">提交反馈 Report</button></form>`;
  } else {
    step = `<dl><dt>已反馈 Reported · ${esc(time(w.reportedAt, timeZone))}</dt><dd>${esc(w.report ?? '')}</dd></dl>`;
  }
  return page('红管家 · 吹哨报到', `<h1>${bi(`吹哨报到 · ${w.departmentName}`, 'Whistle and report')}</h1>${banner}<div class="card">${facts}</div><div class="card">${step}</div>`);
}

const REFUSALS: Record<string, [string, string]> = {
  RB_ERR_NOT_FOUND: ['此链接无效或已失效。', 'This link is not valid.'],
  RB_ERR_RATE_LIMITED: ['请求太频繁，请稍后再试。', 'Too many requests; try again in a minute.'],
  RB_ERR_BAD_BODY: ['提交的内容无效。', 'What was sent is not valid.'],
  RB_ERR_TOO_LARGE: ['提交的内容太长。', 'What was sent is too long.'],
};

export function whistleRefusedPage(code: string): string {
  const [zh, en] = REFUSALS[code] ?? ['无法处理。', 'Could not do that.'];
  return page('红管家 · 吹哨报到', `<h1>${bi('吹哨报到', 'Whistle and report')}</h1><div class="card bad"><p>${bi(zh, en)}</p><p class="code">${esc(code)}</p></div>`);
}
