import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { Id, Ulid } from '../../protocol/index.js';
import { ORDER_CATEGORIES, ORDER_RATINGS, ORDER_SOURCES, ORDER_STATES, ORDER_TIERS, type WhistleView, type WorkOrderView } from '../../protocol/work-orders.js';
import { maskForRole, seesFullData } from '../alerts/privacy.js';
import type { AlertStore } from '../alerts/store.js';
import type { NameOf } from '../alerts/view.js';
import { estatesToRead, inScope, principalOf, requireEstate, requireRole, userAuth } from '../api/user-auth.js';
import type { Audit } from '../audit.js';
import { RbError } from '../errors.js';
import { eventWords } from '../notify/render.js';
import type { People } from '../people/index.js';
import { actorOf, type Principal } from '../people/principals.js';
import type { Registry } from '../registry.js';
import { readWriteBody, type BodyLimits } from './body.js';
import type { WorkOrdersService } from './service.js';
import type { OrderActor, OrderChange } from './types.js';

/**
 * The work-order REST API (docs/work-orders.md "REST"), under /api/v1/work-orders. Every route takes a
 * user token and is scoped: an order of an estate outside the caller's scope answers 404, as an unknown
 * one does. Volunteers and patrols may take an order (assign it to themselves), start, note and resolve
 * it; center and admin may do everything. Views carry the phone number masked; the full number is the
 * audited `GET /work-orders/:id/phone` of center and admin. Text is stored as given and answered as JSON.
 */
export interface OrderRoutesDeps {
  people: People;
  audit: Audit;
  orders: WorkOrdersService;
  registry: Pick<Registry, 'getEstate'>;
  /** 转工单: the alert an order is made from. */
  alerts: Pick<AlertStore, 'get'>;
  /** Device names (as their gateways named them) for the title of an order made from an alert. */
  nameOf?: NameOf | undefined;
  limits: BodyLimits;
  /** An order's whistles (hub/orders/whistle.ts), shown on the order's detail; absent = none. */
  whistles?: ((orderId: string) => Promise<WhistleView[]>) | undefined;
}

const csv = <T extends z.ZodType>(item: T) => z.preprocess((v) => (typeof v === 'string' ? v.split(',').filter(Boolean) : v), z.array(item).min(1).max(10));
const text = (max: number) => z.string().trim().max(max, `at most ${max} characters`);
const Note = text(2000);
const Phone = z
  .string()
  .trim()
  .regex(/^\+?\d[\d -]{4,22}$/, 'a phone number: digits, optionally a leading + and spaces or dashes')
  .transform((p) => p.replace(/[ -]/g, ''));

const ListQuery = z
  .object({
    estate: Id.optional(),
    state: csv(z.enum(ORDER_STATES)).optional(),
    tier: z.enum(ORDER_TIERS).optional(),
    source: z.enum(ORDER_SOURCES).optional(),
    category: z.enum(ORDER_CATEGORIES).optional(),
    overdue: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    /** A user id, or `me`. */
    assignee: z.string().trim().min(1).max(64).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict();

const CreateBody = z
  .object({
    estate: Id,
    /** 来电登记 (the dedicated phone line) or staff on their own; residents, alerts and 12345 have their own routes. */
    source: z.enum(['phone', 'staff']).default('staff'),
    category: z.enum(ORDER_CATEGORIES),
    title: text(120).optional(),
    description: text(2000).min(1, 'say what the problem is'),
    building: text(32).optional(),
    unit: text(32).optional(),
    phone: Phone.optional(),
    tier: z.enum(ORDER_TIERS).optional(),
  })
  .strict();

const FromAlertBody = z
  .object({
    category: z.enum(ORDER_CATEGORIES).default('hazard'),
    title: text(120).optional(),
    description: text(2000).optional(),
  })
  .strict();

const ActionBody = z.discriminatedUnion('action', [
  z.object({ action: z.literal('assign'), user: z.string().trim().min(1).max(64).optional(), department: Id.optional(), note: Note.optional() }).strict(),
  z.object({ action: z.literal('start'), note: Note.optional() }).strict(),
  z.object({ action: z.literal('resolve'), note: Note.optional() }).strict(),
  z.object({ action: z.literal('close'), note: Note.optional() }).strict(),
  z.object({ action: z.literal('reopen'), note: Note.optional() }).strict(),
  z.object({ action: z.literal('note'), note: Note.min(1, 'write the note') }).strict(),
  z.object({ action: z.literal('escalate'), note: Note.optional(), fromTier: z.enum(ORDER_TIERS).optional() }).strict(),
  z.object({ action: z.literal('rate'), rating: z.enum(ORDER_RATINGS), note: Note.optional() }).strict(),
]);
type ActionBody = z.output<typeof ActionBody>;

/** What volunteers and patrols may do; center and admin may do every action. */
const FIELD_ACTIONS = new Set<ActionBody['action']>(['assign', 'start', 'note', 'resolve']);
/** Actions that take photos. */
const WITH_PHOTOS = new Set<ActionBody['action']>(['assign', 'start', 'resolve', 'note']);

function parse<T extends z.ZodType>(schema: T, value: unknown, code: 'RB_ERR_BAD_BODY' | 'RB_ERR_BAD_QUERY' = 'RB_ERR_BAD_BODY'): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new RbError(code, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return r.data;
}

const userActor = (p: Principal): OrderActor => (p.kind === 'system' ? { kind: 'system' } : { kind: 'user', id: p.id });

export function orderRoutes(deps: OrderRoutesDeps): Router {
  const { people, audit, orders, limits } = deps;
  const router = Router();
  const auth = userAuth(people.principals);

  /** The view as this principal may see it: names of people reduced for volunteers and patrols (as the live push does). */
  const shown = <T>(p: Principal, v: T): T => (seesFullData(p.role) ? v : maskForRole(p.role, v));

  async function orderInScope(p: Principal, id: string, steps = false): Promise<WorkOrderView> {
    if (!Ulid.safeParse(id).success) throw new RbError('RB_ERR_BAD_ID', 'a work order id is a ULID');
    const order = await orders.get(id, { steps });
    // Out of scope reads as absent: the answer must not confirm that an order exists elsewhere.
    if (!order || !inScope(p, order.estate)) throw new RbError('RB_ERR_NOT_FOUND', `no work order ${id}`);
    if (steps && deps.whistles) order.whistles = await deps.whistles(order.id);
    return order;
  }

  function estateToWrite(p: Principal, estate: string): void {
    requireEstate(p, estate);
    if (!deps.registry.getEstate(estate)) throw new RbError('RB_ERR_NOT_FOUND', `no estate ${estate}`);
  }

  router.get('/api/v1/work-orders', auth, async (req, res) => {
    const q = parse(ListQuery, req.query, 'RB_ERR_BAD_QUERY');
    const p = principalOf(res);
    const { assignee, state, ...rest } = q;
    const page = await orders.list({ ...rest, estates: estatesToRead(p, q.estate), states: state, ...(assignee !== undefined ? { assigneeUser: assignee === 'me' ? p.id : assignee } : {}) });
    res.json(shown(p, page));
  });

  router.get('/api/v1/work-orders/backlog', auth, async (req, res) => {
    const q = parse(z.object({ estate: Id.optional() }).strict(), req.query, 'RB_ERR_BAD_QUERY');
    res.json({ items: await orders.backlog(estatesToRead(principalOf(res), q.estate)) });
  });

  router.get('/api/v1/work-orders/:id', auth, async (req, res, next) => {
    // Not an id: another router's path under /work-orders (figures, import…), or the 404 at the end.
    if (!Ulid.safeParse(String(req.params.id)).success) return next();
    const p = principalOf(res);
    res.json(shown(p, await orderInScope(p, String(req.params.id), true)));
  });

  router.post('/api/v1/work-orders', auth, async (req, res) => {
    const p = principalOf(res);
    const { fields, photos } = await readWriteBody(req, res, limits);
    const body = parse(CreateBody, fields);
    estateToWrite(p, body.estate);
    const { order } = await orders.create({ ...body, photos }, userActor(p));
    res.status(201).json(shown(p, await orderInScope(p, order.id, true)));
  });

  router.post('/api/v1/work-orders/from-alert/:alertId', auth, async (req, res) => {
    const p = principalOf(res);
    if (!Ulid.safeParse(String(req.params.alertId)).success) throw new RbError('RB_ERR_BAD_ID', 'an alert id is a ULID');
    const { fields } = await readWriteBody(req, res, { ...limits, maxPhotos: 0 });
    const body = parse(FromAlertBody, fields);
    const alert = await deps.alerts.get(String(req.params.alertId));
    if (!alert || !inScope(p, alert.estate)) throw new RbError('RB_ERR_NOT_FOUND', `no alert ${String(req.params.alertId)}`);
    const known = await orders.byAlert(alert.id);
    if (known && inScope(p, known.estate)) return void res.status(200).json({ order: shown(p, known), created: false });
    const words = eventWords(alert.rule, 'zh-CN');
    const where = deps.nameOf?.device?.(alert.estate, alert.device) ?? alert.device;
    const { order, created } = await orders.create(
      {
        estate: alert.estate,
        source: 'alert',
        category: body.category,
        title: body.title ?? `${words}（${where}）`.slice(0, 120),
        description: body.description || `告警转工单：${words}，设备 ${where}`,
        alertId: alert.id,
      },
      userActor(p),
    );
    res.status(201).json({ order: shown(p, order), created });
  });

  router.post('/api/v1/work-orders/:id/actions', auth, async (req: Request, res: Response) => {
    const p = principalOf(res);
    // Scope first: the body of a request about an order one may not see is never read.
    const order = await orderInScope(p, String(req.params.id));
    const { fields, photos } = await readWriteBody(req, res, limits);
    const body = parse(ActionBody, fields);
    if (photos.length > 0 && !WITH_PHOTOS.has(body.action)) throw new RbError('RB_ERR_BAD_BODY', `photos: the action ${body.action} takes none`);
    if (!seesFullData(p.role)) {
      if (!FIELD_ACTIONS.has(body.action)) requireRole(p, 'center', 'admin');
      if (body.action === 'assign' && (body.department !== undefined || (body.user !== undefined && body.user !== p.id && body.user !== p.name))) {
        throw new RbError('RB_ERR_FORBIDDEN', 'volunteers and patrols may assign an order to themselves only');
      }
    }
    let change: OrderChange;
    if (body.action === 'assign') {
      const user = body.user !== undefined ? people.users.find(body.user) : body.department === undefined && p.kind === 'user' ? people.users.get(p.id) : undefined;
      if (body.user !== undefined && !user) throw new RbError('RB_ERR_UNKNOWN_USER', `user: no user ${body.user}`);
      change = { action: 'assign', ...(user ? { user: user.id } : {}), ...(body.department ? { department: body.department } : {}), ...(body.note ? { note: body.note } : {}), photos };
    } else if (body.action === 'note') change = { action: 'note', note: body.note, photos };
    else if (WITH_PHOTOS.has(body.action)) change = { ...(body as { action: 'start' | 'resolve'; note?: string }), photos };
    else change = body as OrderChange;
    await orders.change(order.id, change, userActor(p));
    res.json(shown(p, await orderInScope(p, order.id, true)));
  });

  router.get('/api/v1/work-orders/:id/photos/:photoId', auth, async (req, res) => {
    const p = principalOf(res);
    const order = await orderInScope(p, String(req.params.id));
    if (!Ulid.safeParse(String(req.params.photoId)).success) throw new RbError('RB_ERR_BAD_ID', 'a photo id is a ULID');
    const photo = await orders.photo(order.id, String(req.params.photoId));
    if (!photo) throw new RbError('RB_ERR_NOT_FOUND', `no photo ${String(req.params.photoId)} on work order ${order.id}`);
    // Stored photos are JPEGs this hub encoded; the headers keep a browser from reading them as anything else.
    res
      .set({ 'Content-Type': 'image/jpeg', 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "default-src 'none'", 'Cache-Control': 'private, max-age=3600' })
      .send(photo.data);
  });

  router.get('/api/v1/work-orders/:id/phone', auth, async (req, res) => {
    const p = principalOf(res);
    const order = await orderInScope(p, String(req.params.id));
    requireRole(p, 'center', 'admin');
    const r = await orders.fullPhone(order.id);
    if (!r) throw new RbError('RB_ERR_NOT_FOUND', `no work order ${order.id}`);
    await audit.record({ actor: actorOf(p), action: 'view.personal', estate: r.estate, target: `work-order:${order.id}`, detail: { no: r.no, field: 'phone' } });
    res.set('Cache-Control', 'no-store').json({ id: order.id, no: r.no, phone: r.phone });
  });

  return router;
}
