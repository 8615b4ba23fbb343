import { createHash } from 'node:crypto';
import { ORDER_CATEGORIES, type OrderCategory } from '../../protocol/work-orders.js';
import { CATEGORY_LABELS, type Bilingual } from './labels.js';

/**
 * The resident's pages (issue 19, docs/work-orders.md): plain server-rendered HTML for a phone, no
 * script, no external resource, one stylesheet whose hash the page's Content-Security-Policy names.
 * zh-CN first, English beneath. Every text that came from anyone is escaped (esc).
 */
const CSS = `*{box-sizing:border-box}body{font:16px/1.5 system-ui,-apple-system,"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;margin:0;background:#f5f5f4;color:#1c1917}
main{max-width:30rem;margin:0 auto;padding:1rem .9rem 2rem}
h1{font-size:1.3rem;margin:.25rem 0 .75rem;line-height:1.3}h2{font-size:1.05rem;margin:1rem 0 .5rem}
.en{color:#57534e;font-size:.85rem;font-weight:400}
.card{background:#fff;border-radius:.75rem;padding:1rem;box-shadow:0 1px 3px rgba(0,0,0,.12);margin-bottom:1rem}
.estate{color:#b91c1c;font-weight:700;font-size:1.1rem}
label{display:block;font-weight:600;margin:.9rem 0 .3rem}
input[type=text],input[type=tel],textarea,select{display:block;width:100%;font:inherit;padding:.6rem .7rem;border:1px solid #a8a29e;border-radius:.5rem;background:#fff;color:inherit}
textarea{min-height:7rem;resize:vertical}
input[type=file]{display:block;width:100%;margin:.3rem 0;font-size:.9rem}
fieldset{border:0;padding:0;margin:0}legend{font-weight:600;margin:.9rem 0 .3rem;padding:0}
.cats{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}
.cats label,.rates label{margin:0;font-weight:500;display:flex;gap:.4rem;align-items:flex-start;border:1px solid #d6d3d1;border-radius:.5rem;padding:.55rem .6rem;background:#fafaf9}
.cats input,.rates input{margin-top:.3rem}
.row{display:grid;grid-template-columns:1fr 1fr;gap:.6rem}.row label{margin-top:.9rem}
.hint{color:#57534e;font-size:.85rem;margin:.2rem 0 0}
.hp{position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden}
button{display:block;width:100%;margin-top:1.25rem;padding:.9rem;font:inherit;font-size:1.15rem;font-weight:700;border:0;border-radius:.75rem;background:#b91c1c;color:#fff}
.ok{border-left:6px solid #15803d}.bad{border-left:6px solid #b91c1c}
.errors{color:#b91c1c;margin:0;padding-left:1.2rem}
.no{font-family:ui-monospace,monospace;font-size:1.3rem;font-weight:700;letter-spacing:.02em}
.link{word-break:break-all;font-family:ui-monospace,monospace;font-size:.85rem}
dl{margin:0}dt{color:#57534e;font-size:.85rem;margin-top:.5rem}dd{margin:0;font-weight:600;white-space:pre-wrap;word-break:break-word}
ol.steps{list-style:none;margin:0;padding:0}ol.steps li{border-left:3px solid #d6d3d1;padding:.1rem 0 .7rem .8rem;margin-left:.3rem}
ol.steps time{color:#57534e;font-size:.85rem;display:block}.note{white-space:pre-wrap;word-break:break-word;margin:.2rem 0 0}
.rates{display:grid;gap:.5rem}.code{font-family:ui-monospace,monospace;color:#57534e;font-size:.85rem}
.photos{display:flex;gap:.4rem;flex-wrap:wrap;margin:.4rem 0 0}.photos img{width:6rem;height:6rem;object-fit:cover;border-radius:.4rem;border:1px solid #d6d3d1}
footer{color:#78716c;font-size:.8rem;text-align:center;margin-top:1.5rem}`;

/** The pages' policy: nothing but this stylesheet; forms post to the hub itself. */
export const RESIDENT_PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(CSS).digest('base64')}'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** Chinese, then the English in a lighter line. */
export const bi = ([zh, en]: Bilingual): string => `${esc(zh)} <span class="en">${esc(en)}</span>`;

export function layout(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><meta name="referrer" content="no-referrer"><meta name="format-detection" content="telephone=no"><title>${esc(title)}</title><style>${CSS}</style></head><body><main>${body}<footer>红管家 Red Butler · 紧急情况请拨打 110 / 119 / 120 <span class="en">Emergencies: call 110 / 119 / 120</span></footer></main></body></html>`;
}

/** What the resident typed, put back into the form after a refusal. */
export interface ReportValues {
  category?: string;
  building?: string;
  unit?: string;
  description?: string;
  phone?: string;
}

/** The largest description (characters) and the other fields' caps; hub/residents/routes.ts validates with them. */
export const FIELD_CAPS = { description: 1000, building: 40, unit: 40, phone: 20 } as const;
/** The honeypot: a field with a plausible name that no person sees (CSS moves it off-screen) or fills. */
export const HONEYPOT_FIELD = 'website';
export const MAX_PHOTOS = 3;

/** GET /r/{estate}: the report form. `errors`: why the last post was refused (bilingual lines). */
export function reportFormPage(p: { estateName: string; action: string; values?: ReportValues; errors?: Bilingual[]; maxPhotoBytes: number }): string {
  const v = p.values ?? {};
  const chosen = (ORDER_CATEGORIES as readonly string[]).includes(v.category ?? '') ? (v.category as OrderCategory) : undefined;
  const cats = ORDER_CATEGORIES.map(
    (c) => `<label><input type="radio" name="category" value="${c}" required${c === chosen ? ' checked' : ''}><span>${bi(CATEGORY_LABELS[c])}</span></label>`,
  ).join('');
  const photos = Array.from({ length: MAX_PHOTOS }, (_, i) => `<input type="file" name="photo" accept="image/*" aria-label="照片 ${i + 1} Photo ${i + 1}">`).join('');
  const errors = p.errors?.length
    ? `<div class="card bad" role="alert"><ul class="errors">${p.errors.map((e) => `<li>${bi(e)}</li>`).join('')}</ul></div>`
    : '';
  const mb = Math.floor(p.maxPhotoBytes / (1024 * 1024));
  const form = `<form method="post" action="${esc(p.action)}" enctype="multipart/form-data">
<fieldset><legend>${bi(['类别', 'Category'])}</legend><div class="cats">${cats}</div></fieldset>
<div class="row"><div><label for="building">${bi(['楼栋', 'Building'])}</label><input type="text" id="building" name="building" maxlength="${FIELD_CAPS.building}" value="${esc(v.building ?? '')}" placeholder="如 3号楼"></div>
<div><label for="unit">${bi(['单元/门牌', 'Unit / door'])}</label><input type="text" id="unit" name="unit" maxlength="${FIELD_CAPS.unit}" value="${esc(v.unit ?? '')}" placeholder="如 2单元 501"></div></div>
<label for="description">${bi(['情况描述', 'What happened'])}</label><textarea id="description" name="description" required maxlength="${FIELD_CAPS.description}" placeholder="请描述问题和具体位置">${esc(v.description ?? '')}</textarea>
<label>${bi(['照片（可选，最多 3 张）', 'Photos (optional, up to 3)'])}</label>${photos}<p class="hint">${bi([`每张不超过 ${mb} MB；照片中的位置信息会被删除。`, `Each at most ${mb} MB; location data in photos is removed.`])}</p>
<label for="phone">${bi(['联系电话（可选）', 'Phone (optional)'])}</label><input type="tel" id="phone" name="phone" inputmode="tel" autocomplete="tel" maxlength="${FIELD_CAPS.phone}" value="${esc(v.phone ?? '')}"><p class="hint">${bi(['仅工作人员可见，用于联系您。', 'Seen only by staff, to reach you.'])}</p>
<div class="hp" aria-hidden="true"><label for="${HONEYPOT_FIELD}">网址 Website</label><input type="text" id="${HONEYPOT_FIELD}" name="${HONEYPOT_FIELD}" tabindex="-1" autocomplete="off"></div>
<button type="submit">提交 Submit</button></form>`;
  return layout(`${p.estateName} · 报事`, `<h1>${bi(['社区报事', 'Report a problem'])}</h1><p class="estate">${esc(p.estateName)}</p>${errors}<div class="card">${form}</div>`);
}

/** After a report is stored: its number and the private follow link. */
export function reportedPage(p: { estateName: string; no: string; followUrl: string; followPath: string }): string {
  return layout(
    '报事已提交',
    `<h1>${bi(['报事已提交', 'Report received'])}</h1><p class="estate">${esc(p.estateName)}</p><div class="card ok"><dl><dt>工单号 Order number</dt><dd class="no" data-order-no>${esc(p.no)}</dd></dl>
<p>${bi(['请保存下面的链接（收藏或截图），随时查看处理进度，办结后可以评价。链接只属于您，请勿转发。', 'Keep this link (bookmark or screenshot it) to follow the progress and rate the result. It is yours alone: do not share it.'])}</p>
<p><a class="link" href="${esc(p.followPath)}" data-follow-link>${esc(p.followUrl)}</a></p></div>`,
  );
}

/** A page that says why not (404, 413, 429, 400…), with the code for the helpdesk. */
export function messagePage(p: { title: Bilingual; lines: Bilingual[]; code?: string; back?: string }): string {
  const back = p.back ? `<p><a href="${esc(p.back)}">${bi(['返回', 'Back'])}</a></p>` : '';
  const code = p.code ? `<p class="code">${esc(p.code)}</p>` : '';
  return layout(p.title[0], `<h1>${bi(p.title)}</h1><div class="card bad">${p.lines.map((l) => `<p>${bi(l)}</p>`).join('')}${code}${back}</div>`);
}
