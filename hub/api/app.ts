import { readFileSync } from 'node:fs';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { Id, Ulid } from '../../protocol/index.js';
import { ERRORS, RbError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Registry } from '../registry.js';
import { COUNT_INTERVALS, type CountInterval, type EventPosition, type EventStore } from '../store/types.js';
import type { Bus } from '../bus.js';
import type { SnapshotStore } from '../snapshots.js';
import { snapshotRoutes } from './snapshots.js';
import { stateRoutes } from './state.js';
import type { StateService } from '../state/index.js';
import { adminRoutes } from './admin.js';
import type { DeadLetters } from '../ingest/dead-letter.js';
import { VERSION } from '../../lib/version.js';

/** A time bound: milliseconds since epoch or an ISO 8601 date-time. */
const Time = z.union([
  z.string().regex(/^\d{1,15}$/).transform(Number),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

const EventType = z.string().regex(/^[a-z][a-z0-9.-]{0,63}$/, 'must be an event type like door.forced');

/** What a cursor holds: the last item of the previous page. */
const CursorBody = z
  .object({
    ts: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
    seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    id: Ulid,
  })
  .strict();

/** An opaque page cursor: base64url of JSON `{ts, seq, id}` of the last item of the previous page. */
export function encodeCursor(pos: Required<EventPosition>): string {
  return Buffer.from(JSON.stringify({ ts: pos.ts, seq: pos.seq, id: pos.id })).toString('base64url');
}

const Cursor = z
  .string()
  .max(256, 'is not a cursor from this API')
  .transform((text, ctx) => {
    let body: unknown;
    try {
      if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new Error('not base64url');
      body = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    } catch {
      body = undefined;
    }
    const parsed = CursorBody.safeParse(body);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: 'is not a cursor from this API (pass nextCursor as given)' });
      return z.NEVER;
    }
    return parsed.data;
  });

export const EventsQuery = z
  .object({
    estate: Id.optional(),
    gateway: Id.optional(),
    device: Id.optional(),
    type: EventType.optional(),
    from: Time.optional(),
    to: Time.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: Cursor.optional(),
  })
  .strict();

/** Most buckets one counts request may span (`(to - from) / interval`). */
export const MAX_COUNT_BUCKETS = 10_000;

export const CountsQuery = z
  .object({
    estate: Id.optional(),
    device: Id.optional(),
    type: EventType.optional(),
    from: Time,
    to: Time,
    interval: z.enum(Object.keys(COUNT_INTERVALS) as [CountInterval, ...CountInterval[]]),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (q.to <= q.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    else if (Math.ceil((q.to - q.from) / COUNT_INTERVALS[q.interval]) > MAX_COUNT_BUCKETS) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `the range spans more than ${MAX_COUNT_BUCKETS} ${q.interval} buckets; narrow it or use a wider interval` });
    }
  });

function badQuery(error: z.ZodError): RbError {
  return new RbError('RB_ERR_BAD_QUERY', error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '));
}

export interface ApiDeps {
  store: EventStore;
  registry: Registry;
  snapshots: SnapshotStore;
  bus: Bus;
  apiToken: string | undefined;
  maxSnapshotBytes: number;
  metrics: Metrics;
  log: Logger;
  startedAt: number;
  /** Poison messages kept by ingest (admin API). */
  deadLetters?: DeadLetters;
  /** Live state (hub/state), served under /api/v1/state. */
  state?: Pick<StateService, 'summaries' | 'estate' | 'device' | 'has'>;
  /** Extra health facts (e.g. connected gateways). */
  health?: () => Record<string, unknown>;
}

const INDEX_HTML = new URL('../web/index.html', import.meta.url);

/** The HTTP app: REST API, health, metrics and the page. Built apart from listen() so tests can use it. */
export function createApi(deps: ApiDeps): Express {
  const { store, metrics, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', version: VERSION, store: store.kind, uptimeS: Math.round((Date.now() - deps.startedAt) / 1000), ...deps.health?.() });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/api/v1/events', async (req, res) => {
    const parsed = EventsQuery.safeParse(req.query);
    if (!parsed.success) throw badQuery(parsed.error);
    const { cursor, limit, ...filters } = parsed.data;
    let items;
    try {
      // One more than asked: whether it comes back says whether there is a next page.
      items = await store.query({ ...filters, limit: limit + 1, before: cursor });
    } catch (err) {
      throw new RbError('RB_ERR_STORE_UNAVAILABLE', (err as Error).message);
    }
    const more = items.length > limit;
    if (more) items = items.slice(0, limit);
    const last = items[items.length - 1];
    // Incident snapshots linked to these events (taken after the event, so kept beside it).
    const links = deps.snapshots.forEvents(items.map((e) => e.id));
    res.json({
      items: items.map((e) => (links.has(e.id) ? { ...e, snapshots: links.get(e.id) } : e)),
      ...(more && last ? { nextCursor: encodeCursor({ ts: last.ts, seq: last.seq, id: last.id }) } : {}),
    });
  });

  app.get('/api/v1/events/counts', async (req, res) => {
    const parsed = CountsQuery.safeParse(req.query);
    if (!parsed.success) throw badQuery(parsed.error);
    let items;
    try {
      items = await store.counts(parsed.data);
    } catch (err) {
      throw new RbError('RB_ERR_STORE_UNAVAILABLE', (err as Error).message);
    }
    res.json({ items });
  });

  app.use(
    snapshotRoutes({
      snapshots: deps.snapshots,
      registry: deps.registry,
      bus: deps.bus,
      log,
      apiToken: deps.apiToken,
      maxBytes: deps.maxSnapshotBytes,
    }),
  );

  app.use(adminRoutes({ registry: deps.registry, deadLetters: deps.deadLetters, apiToken: deps.apiToken }));

  if (deps.state) app.use(stateRoutes(deps.state));

  app.get('/api/v1/gateways', (_req, res) => {
    res.json({ items: deps.registry.listGateways() });
  });

  let page: string | undefined;
  app.get('/', (_req, res) => {
    page ??= readFileSync(INDEX_HTML, 'utf8');
    res.type('html').send(page);
  });

  app.use((req) => {
    throw new RbError('RB_ERR_NOT_FOUND', `no route for ${req.method} ${req.path}`);
  });

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const e =
      err instanceof RbError
        ? err
        : (err as { type?: string }).type === 'entity.too.large'
          ? new RbError('RB_ERR_TOO_LARGE', 'the body is larger than the hub accepts')
          : new RbError('RB_ERR_INTERNAL', 'internal error');
    if (e.status >= 500) log.error({ err, path: req.path, code: e.code }, 'request failed');
    else log.info({ path: req.path, code: e.code, msg: e.message }, 'request refused');
    res.status(e.status).json({ error: { code: e.code, title: ERRORS[e.code].title, message: e.message } });
  };
  app.use(onError);
  return app;
}
