import { ORDER_RATINGS, type ResidentOrderView, type WorkOrderView } from '../../protocol/work-orders.js';
import { ACTION_LABELS, CATEGORY_LABELS, RATING_LABELS, RESIDENT_NOTE_ACTIONS, STATE_LABELS, type Bilingual } from './labels.js';
import { bi, esc, FIELD_CAPS, layout } from './page.js';

/**
 * What the follow link shows of an order: its number, state and steps, the resident's own words; no
 * staff names, no phone numbers, no internal notes (only the notes of RESIDENT_NOTE_ACTIONS).
 */
export function residentView(o: WorkOrderView, estateName: string): ResidentOrderView {
  // One rating per resolution: a resident whose 不满意 reopened the order rates the next resolution again.
  const steps = o.steps ?? [];
  const lastResolved = steps.map((s) => s.action).lastIndexOf('resolved');
  const ratedSince = o.steps ? steps.slice(lastResolved + 1).some((s) => s.action === 'rated') : !!o.rating;
  const canRate = o.state === 'resolved' && !ratedSince;
  return {
    no: o.no,
    estateName,
    category: o.category,
    state: o.state,
    createdAt: o.createdAt,
    resolvedAt: o.resolvedAt ?? null,
    rating: canRate ? null : (o.rating ?? null),
    canRate,
    canReopen: canRate && o.reopenCount < 1,
    steps: (o.steps ?? []).map((s) => {
      const shown = RESIDENT_NOTE_ACTIONS.has(s.action);
      const photos = shown || s.action === 'created' ? s.photos.map((p) => p.id) : [];
      return { at: s.at, action: s.action, note: shown ? (s.note ?? null) : null, ...(photos.length ? { photos } : {}) };
    }),
    description: o.description,
    building: o.building ?? null,
    unit: o.unit ?? null,
  };
}

const when = (ms: number, timeZone: string): string =>
  new Intl.DateTimeFormat('zh-CN', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).format(ms);

/** GET /r/f/{token}. `notice`: a line after a rating (thanks, reopened). */
export function followPage(v: ResidentOrderView, p: { action: string; timeZone: string; notice?: Bilingual }): string {
  const where = [v.building, v.unit].filter((x): x is string => !!x).join(' ');
  const facts = `<dl><dt>工单号 Order number</dt><dd class="no" data-order-no>${esc(v.no)}</dd>
<dt>状态 State</dt><dd data-state="${esc(v.state)}">${bi(STATE_LABELS[v.state])}</dd>
<dt>类别 Category</dt><dd>${bi(CATEGORY_LABELS[v.category])}</dd>
${where ? `<dt>位置 Where</dt><dd>${esc(where)}</dd>` : ''}
<dt>情况描述 What you reported</dt><dd data-description>${esc(v.description ?? '')}</dd>
<dt>提交时间 Filed</dt><dd>${esc(when(v.createdAt, p.timeZone))}</dd>
${v.rating ? `<dt>您的评价 Your rating</dt><dd data-rating="${esc(v.rating)}">${bi(RATING_LABELS[v.rating])}</dd>` : ''}</dl>`;
  const steps = v.steps.length
    ? `<ol class="steps">${v.steps
        .map((s) => `<li><time>${esc(when(s.at, p.timeZone))}</time>${bi(ACTION_LABELS[s.action])}${s.note ? `<p class="note">${esc(s.note)}</p>` : ''}${photoRow(s.photos, p.action)}</li>`)
        .join('')}</ol>`
    : `<p>${bi(['暂无进展。', 'Nothing yet.'])}</p>`;
  const notice = p.notice ? `<div class="card ok" role="status"><p>${bi(p.notice)}</p></div>` : '';
  return layout(`工单 ${v.no}`, `<h1>${bi(['报事进度', 'Your report'])}</h1><p class="estate">${esc(v.estateName)}</p>${notice}<div class="card">${facts}</div>${rateForm(v, p.action)}<h2>${bi(['处理过程', 'Steps'])}</h2><div class="card">${steps}</div>`);
}

/** The step's photos the resident may see, from the follow link itself (`action` is /r/f/{token}). */
function photoRow(ids: string[] | undefined, action: string): string {
  if (!ids?.length) return '';
  return `<p class="photos">${ids.map((id) => `<a href="${esc(`${action}/photos/${id}`)}"><img src="${esc(`${action}/photos/${id}`)}" alt="照片 Photo" loading="lazy"></a>`).join('')}</p>`;
}

function rateForm(v: ResidentOrderView, action: string): string {
  if (!v.canRate) return '';
  const rates = ORDER_RATINGS.map((r) => `<label><input type="radio" name="rating" value="${r}" required><span>${bi(RATING_LABELS[r])}</span></label>`).join('');
  const hint: Bilingual = v.canReopen
    ? ['选择“不满意”，报事将重新交给工作人员处理（仅限一次）。', '“Not satisfied” sends it back to staff (once).']
    : ['此报事已重新处理过一次；“不满意”的评价会交由社区跟进。', 'It was reopened once already; a “Not satisfied” goes to the community.'];
  const note = `<label for="note">${bi(['补充说明（可选）', 'Comment (optional)'])}</label><textarea id="note" name="note" maxlength="${FIELD_CAPS.description}"></textarea>`;
  return `<div class="card"><form method="post" action="${esc(action)}"><fieldset><legend>${bi(['请评价处理结果', 'How was it handled?'])}</legend><div class="rates">${rates}</div></fieldset><p class="hint">${bi(hint)}</p>${note}<button type="submit">提交评价 Submit rating</button></form></div>`;
}
