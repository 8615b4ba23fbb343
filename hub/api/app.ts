import { readFileSync } from 'node:fs';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { Id } from '../../protocol/index.js';
import { ERRORS, RbError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Registry } from '../registry.js';
import type { EventStore } from '../store/types.js';
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

export const EventsQuery = z
  .object({
    estate: Id.optional(),
    gateway: Id.optional(),
    device: Id.optional(),
    type: z.string().regex(/^[a-z][a-z0-9.-]{0,63}$/, 'must be an event type like door.forced').optional(),
    from: Time.optional(),
    to: Time.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

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
    if (!parsed.success) {
      throw new RbError(
        'RB_ERR_BAD_QUERY',
        parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '),
      );
    }
    let items;
    try {
      items = await store.query(parsed.data);
    } catch (err) {
      throw new RbError('RB_ERR_STORE_UNAVAILABLE', (err as Error).message);
    }
    // Incident snapshots linked to these events (taken after the event, so kept beside it).
    const links = deps.snapshots.forEvents(items.map((e) => e.id));
    res.json({ items: items.map((e) => (links.has(e.id) ? { ...e, snapshots: links.get(e.id) } : e)) });
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
