import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import sharp from 'sharp';
import type { OrderAction, WorkOrderView } from '../../../protocol/work-orders.js';
import { RbError } from '../../../hub/errors.js';
import type { NewOrder, OrderActor, OrderChange, StoredPhotoInput, WorkOrders } from '../../../hub/orders/types.js';
import { createResidentMetrics } from '../../../hub/residents/metrics.js';
import { residentRoutes, type ResidentRoutesDeps } from '../../../hub/residents/routes.js';

/**
 * The routes' unit-test world: the resident router on a real HTTP server, in front of a small
 * in-memory WorkOrders (only what the resident pages call; the real service is hub/orders/service.ts,
 * tested end to end in test/browser/resident-report.test.ts).
 */
export interface StoredOrder {
  view: WorkOrderView;
  input: NewOrder;
  photos: StoredPhotoInput[];
  followHash: string;
  actors: OrderActor[];
}

export function memoryOrders(): Pick<WorkOrders, 'create' | 'change' | 'get' | 'byFollowToken' | 'photo'> & { stored: StoredOrder[] } {
  const stored: StoredOrder[] = [];
  const hash = (t: string) => createHash('sha256').update(t).digest('hex');
  const photoData = new Map<string, StoredPhotoInput>();
  const step = (o: StoredOrder, action: OrderAction, note?: string, photos: StoredPhotoInput[] = []) => {
    const refs = photos.map((p) => {
      const id = `photo-${photoData.size + 1}`;
      photoData.set(`${o.view.id}/${id}`, p);
      return { id, url: `/api/v1/work-orders/${o.view.id}/photos/${id}`, contentType: p.contentType, bytes: p.data.length };
    });
    o.view.steps!.push({ id: String(o.view.steps!.length + 1), at: Date.now(), action, actor: 'x', note: note ?? null, photos: refs });
  };
  return {
    stored,
    async create(input, actor) {
      const token = randomBytes(24).toString('base64url');
      const n = stored.length + 1;
      const view: WorkOrderView = {
        id: `order-${n}`,
        no: `GD20261207-${String(n).padStart(4, '0')}`,
        estate: input.estate,
        source: input.source,
        category: input.category,
        tier: 'grid',
        state: 'new',
        title: input.description.slice(0, 20),
        description: input.description,
        building: input.building ?? null,
        unit: input.unit ?? null,
        phone: input.phone ?? null,
        createdAt: Date.now(),
        updatedAt: Date.now(),
        overdue: false,
        reopenCount: 0,
        steps: [],
      };
      const o: StoredOrder = { view, input, photos: input.photos ?? [], followHash: hash(token), actors: [actor] };
      step(o, 'created', undefined, input.photos);
      stored.push(o);
      return { order: structuredClone(view), created: true, followToken: token };
    },
    async change(id: string, change: OrderChange, actor: OrderActor) {
      const o = stored.find((s) => s.view.id === id);
      if (!o) throw new RbError('RB_ERR_NOT_FOUND', 'no such order');
      o.actors.push(actor);
      const v = o.view;
      if (change.action === 'resolve') {
        v.state = 'resolved';
        v.resolvedAt = Date.now();
        step(o, 'resolved', change.note, change.photos);
      } else if (change.action === 'rate') {
        // As hub/orders/transitions.ts: 满意/基本满意 close it; a resident's first 不满意 reopens it.
        if (v.state !== 'resolved') throw new RbError('RB_ERR_CONFLICT', 'not resolved');
        v.rating = change.rating;
        if (change.rating !== 'unsatisfied') v.state = 'closed';
        else if (actor.kind === 'resident' && v.reopenCount < 1) {
          v.state = 'reopened';
          v.reopenCount += 1;
        }
        step(o, 'rated', change.note);
      } else if (change.action === 'note') step(o, 'note', change.note, change.photos);
      else throw new Error(`not in this fake: ${change.action}`);
      return structuredClone(v);
    },
    async get(id) {
      const o = stored.find((s) => s.view.id === id);
      return o ? structuredClone(o.view) : undefined;
    },
    async photo(orderId, photoId) {
      return photoData.get(`${orderId}/${photoId}`);
    },
    async byFollowToken(token) {
      const o = stored.find((s) => s.followHash === hash(token));
      return o ? { ...structuredClone(o.view), steps: undefined } : undefined;
    },
  };
}

export const ESTATES: Record<string, { name: string | null }> = { 'estate-a': { name: '枫林苑 <b>东区</b>' }, 'estate-b': { name: null } };

export const DEFAULT_CONFIG: ResidentRoutesDeps['config'] = {
  reportsPerAddressPerHour: 100,
  reportsPerBrowserPerHour: 100,
  followPerAddressPerMinute: 100,
  maxPhotoBytes: 512 * 1024,
  maxBodyBytes: 2 * 1024 * 1024,
};

export interface RoutesWorld {
  url: string;
  orders: ReturnType<typeof memoryOrders>;
  metrics: Registry;
  clock: { now: number };
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startRoutes(config: Partial<ResidentRoutesDeps['config']> = {}): Promise<RoutesWorld> {
  const orders = memoryOrders();
  const registry = new Registry();
  const clock = { now: Date.UTC(2026, 11, 7, 2) };
  const app = express();
  app.use(
    residentRoutes({
      orders,
      estate: (id) => ESTATES[id],
      config: { ...DEFAULT_CONFIG, ...config },
      metrics: createResidentMetrics(registry),
      timeZone: 'Asia/Shanghai',
      log: pino({ level: 'silent' }),
      now: () => clock.now,
    }),
  );
  const onError: ErrorRequestHandler = (err, _req, res, _next) => void res.status(500).json({ error: String(err) });
  app.use(onError);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    orders,
    metrics: registry,
    clock,
    async metric(name, labels = {}) {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
      if (!m) throw new Error(`no metric ${name}`);
      return (m.values as { value: number; labels: Record<string, string | number> }[])
        .filter((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l))
        .reduce((a, v) => a + v.value, 0);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A phone photo: JPEG with GPS EXIF. */
export function phoneJpeg(width = 320, height = 240): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#7a9' } })
    .jpeg()
    .withExif({ IFD0: { Make: 'TestCamMaker' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '31/1 14/1 0/1' } })
    .toBuffer();
}

/** The report form as a browser posts it (multipart), with a cookie if given. */
export function post(url: string, fields: Record<string, string>, files: { name: string; type: string; data: Buffer }[] = [], cookie?: string): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const f of files) form.append('photo', new Blob([new Uint8Array(f.data)], { type: f.type }), f.name);
  return fetch(url, { method: 'POST', body: form, redirect: 'manual', headers: cookie ? { cookie } : {} });
}

/** The follow link's path in a success page. */
export function followPathOf(html: string): string {
  const m = /href="(\/r\/f\/[A-Za-z0-9_-]+)" data-follow-link/.exec(html);
  if (!m) throw new Error(`no follow link in:\n${html}`);
  return m[1]!;
}
