import { randomBytes } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { Id } from '../../protocol/index.js';
import { ORDER_CATEGORIES, ORDER_RATINGS, type OrderRating } from '../../protocol/work-orders.js';
import { RbError } from '../errors.js';
import { DEFAULT_PHOTO_LIMITS, processPhoto } from '../orders/images.js';
import type { StoredPhotoInput, WorkOrders } from '../orders/types.js';
import type { ResidentsConfig } from './config.js';
import { followPage, residentView } from './follow-page.js';
import type { Bilingual } from './labels.js';
import { createRateLimiter } from './limits.js';
import type { ReportRefusal, ResidentMetrics } from './metrics.js';
import { discard, readForm, type FormProblem } from './multipart.js';
import { FIELD_CAPS, HONEYPOT_FIELD, MAX_PHOTOS, messagePage, reportedPage, reportFormPage, RESIDENT_PAGE_CSP, type ReportValues } from './page.js';

export interface ResidentRoutesDeps {
  orders: Pick<WorkOrders, 'create' | 'change' | 'get' | 'byFollowToken' | 'photo'>;
  /** The estate's record (registry.getEstate): undefined = no such estate (404). */
  estate: (id: string) => { name: string | null } | undefined;
  config: Pick<ResidentsConfig, 'reportsPerAddressPerHour' | 'reportsPerBrowserPerHour' | 'followPerAddressPerMinute' | 'maxPhotoBytes' | 'maxBodyBytes'>;
  /** notify.publicUrl: the follow link shown after a report is {publicUrl}/r/f/{token}; unset = this request's origin. */
  publicUrl?: string | undefined;
  metrics: ResidentMetrics;
  /** The hub's time zone, for the times on the follow page. */
  timeZone: string;
  log: Logger;
  now?: () => number;
}

/** The cookie the form sets: one browser's reports count against residents.reportsPerBrowserPerHour. */
export const BROWSER_COOKIE = 'rb_reporter';
const HOUR = 3_600_000;
const FollowToken = z.string().regex(/^[A-Za-z0-9_-]{16,200}$/);

const Report = z.object({
  category: z.enum(ORDER_CATEGORIES, { error: 'category' }),
  description: z.string().trim().min(1, 'description').max(FIELD_CAPS.description, 'description'),
  building: z.string().trim().max(FIELD_CAPS.building, 'building').optional(),
  unit: z.string().trim().max(FIELD_CAPS.unit, 'unit').optional(),
  phone: z
    .string()
    .transform((s) => s.replace(/[\s()-]/g, ''))
    .refine((s) => s === '' || /^\+?\d{5,15}$/.test(s), 'phone')
    .optional(),
});

const FIELD_ERRORS: Record<string, Bilingual> = {
  category: ['请选择类别。', 'Choose a category.'],
  description: ['请填写情况描述（最多 1000 字）。', 'Describe the problem (at most 1000 characters).'],
  building: ['楼栋最多 40 字。', 'Building: at most 40 characters.'],
  unit: ['单元/门牌最多 40 字。', 'Unit: at most 40 characters.'],
  phone: ['电话号码只能包含数字（5–15 位）。', 'The phone number takes 5 to 15 digits.'],
};

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

const clientOf = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

function html(res: Response, status: number, body: string): void {
  res.status(status).set({ 'Content-Security-Policy': RESIDENT_PAGE_CSP, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff' }).type('html').send(body);
}

/** A refusal the resident reads: why, in both languages; the English names the config key where one applies. */
function formProblem(p: FormProblem, c: ResidentDepsConfig): { status: number; reason: ReportRefusal; line: Bilingual } {
  const mb = (n: number) => (n / (1024 * 1024)).toFixed(1).replace(/\.0$/, '');
  switch (p.kind) {
    case 'body-too-large':
      return { status: 413, reason: 'too-large', line: [`提交的内容太大（最多 ${mb(c.maxBodyBytes)} MB），请减少或缩小照片。`, `The report is too large (at most ${mb(c.maxBodyBytes)} MB, residents.maxBodyBytes): send fewer or smaller photos.`] };
    case 'file-too-large':
      return { status: 413, reason: 'too-large', line: [`照片“${p.name}”太大：每张最多 ${mb(c.maxPhotoBytes)} MB。`, `The photo “${p.name}” is too large: at most ${mb(c.maxPhotoBytes)} MB each (residents.maxPhotoBytes).`] };
    case 'too-many-files':
      return { status: 413, reason: 'too-large', line: [`最多只能上传 ${MAX_PHOTOS} 张照片。`, `At most ${MAX_PHOTOS} photos.`] };
    case 'too-many-fields':
    case 'not-a-form':
      return { status: 400, reason: 'invalid', line: ['无法读取提交的表单，请重新填写。', 'The form could not be read; fill it in again.'] };
    case 'field-too-long':
      return { status: 413, reason: 'too-large', line: FIELD_ERRORS[p.field] ?? ['有一项内容太长。', `The field ${p.field} is too long.`] };
  }
}
type ResidentDepsConfig = ResidentRoutesDeps['config'];

/**
 * GET  /r/{estate}       the report form (sets the browser cookie)
 * POST /r/{estate}       file a report: rate limited, capped, honeypot; stored (committed) before the page says so
 * GET  /r/f/{token}      the follow page
 * POST /r/f/{token}      rate a resolved order (once per resolution); 不满意 reopens it, once
 */
export function residentRoutes(deps: ResidentRoutesDeps): Router {
  const router = Router();
  const { config: c, metrics } = deps;
  const perAddress = createRateLimiter({ limit: c.reportsPerAddressPerHour, windowMs: HOUR, now: deps.now });
  const perBrowser = createRateLimiter({ limit: c.reportsPerBrowserPerHour, windowMs: HOUR, now: deps.now });
  const follow = createRateLimiter({ limit: c.followPerAddressPerMinute, windowMs: 60_000, now: deps.now });
  const photoLimits = { ...DEFAULT_PHOTO_LIMITS, maxBytes: c.maxPhotoBytes };
  const originOf = (req: Request) => deps.publicUrl?.replace(/\/+$/, '') ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;

  const unknownEstate = (res: Response) =>
    html(res, 404, messagePage({ title: ['找不到这个小区', 'No such estate'], lines: [['这个二维码或链接对应的小区不存在，请联系物业或社区。', 'The estate of this QR code or link does not exist; ask the property office or the community.']], code: 'RB_ERR_NOT_FOUND' }));
  const limited = (res: Response, retryAfterS: number) => {
    const minutes = Math.ceil(retryAfterS / 60);
    res.set('Retry-After', String(retryAfterS));
    html(res, 429, messagePage({ title: ['提交太频繁', 'Too many reports'], lines: [[`请 ${minutes} 分钟后再试。紧急情况请直接拨打物业或 110。`, `Try again in ${minutes} min. In an emergency call the property office or 110.`]], code: 'RB_ERR_RATE_LIMITED' }));
  };
  const estateOf = (req: Request) => {
    const id = Id.safeParse(req.params.estate);
    const record = id.success ? deps.estate(id.data) : undefined;
    return id.success && record ? { id: id.data, name: record.name ?? id.data } : undefined;
  };

  router.get('/r/:estate', (req, res) => {
    const estate = estateOf(req);
    if (!estate) return unknownEstate(res);
    if (!cookieOf(req, BROWSER_COOKIE)) {
      res.cookie(BROWSER_COOKIE, randomBytes(16).toString('base64url'), { httpOnly: true, sameSite: 'lax', path: '/r', maxAge: 365 * 86_400_000, secure: req.secure });
    }
    html(res, 200, reportFormPage({ estateName: estate.name, action: `/r/${estate.id}`, maxPhotoBytes: c.maxPhotoBytes }));
  });

  router.post('/r/:estate', async (req, res) => {
    const estate = estateOf(req);
    if (!estate) {
      discard(req, 2 * c.maxBodyBytes);
      return unknownEstate(res.set('Connection', 'close'));
    }
    const refuse = (reason: ReportRefusal, status: number, lines: Bilingual[], values?: ReportValues) => {
      metrics.refused.inc({ reason });
      deps.log.info({ estate: estate.id, reason, ip: clientOf(req) }, 'resident report refused');
      if (status === 413) res.set('Connection', 'close');
      html(res, status, values ? reportFormPage({ estateName: estate.name, action: `/r/${estate.id}`, values, errors: lines, maxPhotoBytes: c.maxPhotoBytes }) : messagePage({ title: ['未能提交', 'Not submitted'], lines, back: `/r/${estate.id}` }));
    };
    const browser = cookieOf(req, BROWSER_COOKIE);
    for (const [limiter, key] of [[perAddress, clientOf(req)], ...(browser ? [[perBrowser, browser] as const] : [])] as const) {
      const r = limiter.hit(key);
      if (!r.ok) {
        metrics.refused.inc({ reason: 'rate' });
        res.set('Connection', 'close');
        discard(req, 2 * c.maxBodyBytes);
        return limited(res, r.retryAfterS);
      }
    }
    const form = await readForm(req, { maxFields: 12, maxFieldBytes: 8 * 1024, maxFiles: MAX_PHOTOS, maxFileBytes: c.maxPhotoBytes, maxBodyBytes: c.maxBodyBytes });
    const values: ReportValues = { category: form.fields.category, building: form.fields.building, unit: form.fields.unit, description: form.fields.description, phone: form.fields.phone };
    if (form.problem) {
      const p = formProblem(form.problem, c);
      return refuse(p.reason, p.status, [p.line], values);
    }
    // A bot fills every field: answered like a success (so it learns nothing), stored nowhere.
    if ((form.fields[HONEYPOT_FIELD] ?? '') !== '') {
      metrics.refused.inc({ reason: 'honeypot' });
      deps.log.info({ estate: estate.id, ip: clientOf(req) }, 'resident report dropped: honeypot filled');
      const fake = randomBytes(24).toString('base64url');
      const no = `GD${new Date(deps.now?.() ?? Date.now()).toISOString().slice(0, 10).replace(/-/g, '')}-${String(1 + (randomBytes(1)[0]! % 99)).padStart(4, '0')}`;
      return html(res, 200, reportedPage({ estateName: estate.name, no, followPath: `/r/f/${fake}`, followUrl: `${originOf(req)}/r/f/${fake}` }));
    }
    const parsed = Report.safeParse(Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)));
    if (!parsed.success) {
      const lines = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? 'description')))].map((f) => FIELD_ERRORS[f] ?? FIELD_ERRORS.description!);
      return refuse('invalid', 400, lines, values);
    }
    const photos: StoredPhotoInput[] = [];
    for (const [i, f] of form.files.entries()) {
      try {
        photos.push(await processPhoto(f.data, photoLimits));
      } catch (err) {
        if (!(err instanceof RbError)) throw err;
        const name = f.name || `${i + 1}`;
        const tooLarge = err.code === 'RB_ERR_TOO_LARGE';
        const zh = tooLarge ? `照片“${name}”太大，未能接收。` : `文件“${name}”不是照片或已损坏（仅支持 JPEG、PNG、WebP、HEIC）。`;
        return refuse(tooLarge ? 'too-large' : 'bad-photo', tooLarge ? 413 : 400, [[zh, `“${name}”: ${err.message}.`]], values);
      }
    }
    const r = parsed.data;
    try {
      // Durable before the page says so: create resolves once the order (and its photos) are committed.
      const created = await deps.orders.create(
        { estate: estate.id, source: 'resident', category: r.category, description: r.description, photos, ...(r.building ? { building: r.building } : {}), ...(r.unit ? { unit: r.unit } : {}), ...(r.phone ? { phone: r.phone } : {}) },
        { kind: 'resident' },
      );
      if (!created.followToken) throw new Error('the order service gave no follow token for a resident report');
      metrics.accepted.inc();
      deps.log.info({ estate: estate.id, order: created.order.id, no: created.order.no, photos: photos.length }, 'resident report stored');
      const path = `/r/f/${created.followToken}`;
      html(res, 201, reportedPage({ estateName: estate.name, no: created.order.no, followPath: path, followUrl: `${originOf(req)}${path}` }));
    } catch (err) {
      deps.log.error({ err, estate: estate.id }, 'resident report could not be stored');
      html(res, 503, messagePage({ title: ['暂时无法提交', 'Could not submit'], lines: [['系统暂时无法保存您的报事，请稍后再试。', 'Your report could not be saved; try again shortly.']], code: 'RB_ERR_UNAVAILABLE', back: `/r/${estate.id}` }));
    }
  });

  const notFound = (res: Response) =>
    html(res, 404, messagePage({ title: ['找不到此报事', 'No such report'], lines: [['链接无效或已过期。请检查链接是否完整。', 'This link is not valid or no longer kept. Check that it is complete.']], code: 'RB_ERR_NOT_FOUND' }));

  /** The order of a follow link, with its steps, or a page already sent (429, 404). */
  async function orderOf(req: Request, res: Response) {
    const r = follow.hit(clientOf(req));
    if (!r.ok) {
      res.set('Retry-After', String(r.retryAfterS));
      html(res, 429, messagePage({ title: ['请求太频繁', 'Too many requests'], lines: [['请稍后再试。', 'Try again in a minute.']], code: 'RB_ERR_RATE_LIMITED' }));
      return undefined;
    }
    const token = FollowToken.safeParse(req.params.token);
    const found = token.success ? await deps.orders.byFollowToken(token.data) : undefined;
    const order = found ? ((await deps.orders.get(found.id, { steps: true })) ?? found) : undefined;
    if (!order || !token.success) return void notFound(res);
    const name = order.estateName ?? deps.estate(order.estate)?.name ?? order.estate;
    return { order, token: token.data, view: residentView(order, name) };
  }

  const NOTICES: Record<string, Bilingual> = {
    rated: ['感谢您的评价！', 'Thank you for your rating!'],
    reopened: ['已重新交给工作人员处理。', 'Reopened: staff will handle it again.'],
  };

  router.get('/r/f/:token', async (req, res) => {
    const found = await orderOf(req, res);
    if (!found) return;
    const notice = typeof req.query.done === 'string' ? NOTICES[req.query.done] : undefined;
    html(res, 200, followPage(found.view, { action: `/r/f/${found.token}`, timeZone: deps.timeZone, ...(notice ? { notice } : {}) }));
  });

  // A photo of the resident's own order, only one the follow page shows (their own, the resolution's).
  router.get('/r/f/:token/photos/:photo', async (req, res) => {
    const found = await orderOf(req, res);
    if (!found) return;
    const photoId = String(req.params.photo);
    const shown = found.view.steps.some((s) => s.photos?.includes(photoId));
    const photo = shown ? await deps.orders.photo(found.order.id, photoId) : undefined;
    if (!photo) return notFound(res);
    res.set({ 'Cache-Control': 'private, max-age=86400', 'Content-Security-Policy': "default-src 'none'", 'X-Content-Type-Options': 'nosniff' }).type(photo.contentType).send(photo.data);
  });

  const smallForm = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 });
  router.post('/r/f/:token', (req, res, next) => smallForm(req, res, (err?: unknown) => (err ? html(res, 413, messagePage({ title: ['内容太长', 'Too long'], lines: [['补充说明太长。', 'The comment is too long.']], back: req.originalUrl })) : next())), async (req, res) => {
    const found = await orderOf(req, res);
    if (!found) return;
    const { order, view, token } = found;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const rating = typeof body.rating === 'string' && (ORDER_RATINGS as readonly string[]).includes(body.rating) ? (body.rating as OrderRating) : undefined;
    const note = typeof body.note === 'string' && body.note.trim() !== '' ? body.note.trim().slice(0, FIELD_CAPS.description) : undefined;
    const back = `/r/f/${token}`;
    const bad = (status: number, line: Bilingual) => html(res, status, messagePage({ title: ['未能提交', 'Not submitted'], lines: [line], back }));
    if (!view.canRate) return bad(409, ['此报事现在不能评价（尚未办结，或已评价）。', 'This report cannot be rated now (not resolved yet, or rated already).']);
    if (!rating) return bad(400, ['请选择一个评价。', 'Choose a rating.']);
    try {
      // The service closes it (满意, 基本满意), or reopens it on the resident's first 不满意 (docs/work-orders.md).
      const after = await deps.orders.change(order.id, { action: 'rate', rating, ...(note ? { note } : {}) }, { kind: 'resident' });
      metrics.ratings.inc({ rating });
      res.redirect(303, `${back}?done=${after.state === 'reopened' ? 'reopened' : 'rated'}`);
    } catch (err) {
      if (err instanceof RbError && err.status < 500) return bad(err.status, ['此报事的状态已变化，请刷新后再试。', `The report changed meanwhile; reload and try again (${err.message}).`]);
      deps.log.error({ err, order: order.id }, 'resident rating failed');
      bad(503, ['暂时无法提交，请稍后再试。', 'Could not save it; try again shortly.']);
    }
  });

  return router;
}
