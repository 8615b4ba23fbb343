import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { personalView } from './personal.js';
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { Id, Ulid } from '../../protocol/index.js';
import { ERRORS, RbError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Registry } from '../registry.js';
import { COUNT_INTERVALS, type CountInterval, type EventPosition, type EventStore } from '../store/types.js';
import type { Bus } from '../bus.js';
import type { Readiness } from '../platform/readiness.js';
import type { SnapshotStore } from '../snapshots.js';
import { snapshotRoutes } from './snapshots.js';
import { stateRoutes } from './state.js';
import type { StateService } from '../state/index.js';
import { adminRoutes } from './admin.js';
import type { DeadLetters } from '../ingest/dead-letter.js';
import { VERSION } from '../../lib/version.js';
import type { Audit } from '../audit.js';
import type { People } from '../people/index.js';
import type { RbEvent } from '../../protocol/index.js';
import { peopleRoutes } from './people.js';
import { createLoginLimiter } from '../people/login-limit.js';
import { rosterRoutes, type OpenAlerts, type PushHandover } from './roster.js';
import { estatesToRead, inScope, principalOf, userAuth } from './user-auth.js';

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
  /** Failed logins one name may make from one address within the window (config auth.loginMaxFailures, auth.loginWindow); default 5 per 15 min. */
  loginLimit?: { maxFailures: number; windowMs: number };
  maxSnapshotBytes: number;
  metrics: Metrics;
  log: Logger;
  startedAt: number;
  /** Poison messages kept by ingest (admin API). */
  deadLetters?: DeadLetters;
  /** Live state (hub/state), served under /api/v1/state. */
  state?: Pick<StateService, 'summaries' | 'estate' | 'device' | 'has'>;
  /** http.trustProxy: Express `trust proxy` (whose X-Forwarded-For names the client); unset = nobody's. */
  trustProxy?: string | undefined;
  /** `/readyz`: whether this node can commit to its database (and reach Redis): hub/platform/readiness.ts. */
  ready?: () => Promise<Readiness>;
  /** Extra health facts (e.g. connected gateways). */
  health?: () => Record<string, unknown>;
  /** Users, tokens, roster: every read route below takes a user token or RB_API_TOKEN. */
  people: People;
  audit: Audit;
  /** Open alerts of an estate for the shift hand-over list (the alert store; `[]` until wired). */
  openAlerts?: OpenAlerts;
  /** Push a new hand-over to the estate's rooms (`handover:new`). */
  pushHandover?: PushHandover;
  /** More routers, mounted before the screens and the 404 (alerts, commands: hub/api/alerts.ts). */
  routes?: Router[];
}

/** The screens' own paths (web/src/router.ts): answered with the app's page and 200. */
export const CLIENT_ROUTES = ['/', '/login', '/me', '/street', '/roster', '/admin', '/estate/:estate', '/patrol'];
/** Files at the root of the built screens (scripts/icons.mjs). */
const WEB_ROOT_FILES = ['favicon.ico', 'favicon.svg', 'icon-192.png', 'icon-512.png', 'apple-touch-icon.png', 'manifest.webmanifest'];
/** Never answered with the page: a client of these wants JSON (or a file), not the app. */
const API_PATHS = /^\/(api|assets|socket\.io|metrics|healthz|readyz)(\/|$)/;

/** Newest first, as both stores order a query: ts, then seq, then id. */
const newestFirst = (a: RbEvent, b: RbEvent): number => b.ts - a.ts || b.seq - a.seq || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** The built screens: dist/hub/web beside the compiled hub, or the repo's dist/hub/web when run from source. */
function webDir(): string | undefined {
  for (const url of [new URL('../web/', import.meta.url), new URL('../../dist/hub/web/', import.meta.url)]) {
    const dir = fileURLToPath(url);
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

/** The HTTP app: REST API, health, metrics and the page. Built apart from listen() so tests can use it. */
export function createApi(deps: ApiDeps): Express {
  const { store, metrics, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Off by default: X-Forwarded-For is anyone's to write, so req.ip believes it only from the
  // proxies named here (https://expressjs.com/en/guide/behind-proxies.html).
  app.set('trust proxy', deps.trustProxy ?? false);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', version: VERSION, store: store.kind, uptimeS: Math.round((Date.now() - deps.startedAt) / 1000), ...deps.health?.() });
  });

  // Liveness above (the process answers), readiness here (it can commit, and reach Redis in a
  // cluster): a balancer routes on /readyz, a supervisor restarts on /healthz.
  app.get('/readyz', async (_req, res) => {
    if (!deps.ready) return void res.json({ ready: true });
    const r = await deps.ready();
    res.status(r.ready ? 200 : 503).set('Cache-Control', 'no-store').json(r);
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const auth = userAuth(deps.people.principals);

  app.get('/api/v1/events', auth, async (req, res) => {
    const parsed = EventsQuery.safeParse(req.query);
    if (!parsed.success) throw badQuery(parsed.error);
    const { cursor, limit, estate, ...filters } = parsed.data;
    const estates = estatesToRead(principalOf(res), estate);
    let items: RbEvent[];
    try {
      // One more than asked: whether it comes back says whether there is a next page. Several
      // estates in scope: one query each with the same cursor, merged in the stores' order.
      const one = (e: string | undefined) => store.query({ ...filters, estate: e, limit: limit + 1, before: cursor });
      items =
        estates === undefined || estates.length === 1
          ? await one(estates?.[0])
          : (await Promise.all(estates.map(one))).flat().sort(newestFirst).slice(0, limit + 1);
    } catch (err) {
      throw new RbError('RB_ERR_STORE_UNAVAILABLE', (err as Error).message);
    }
    const more = items.length > limit;
    if (more) items = items.slice(0, limit);
    const last = items[items.length - 1];
    // Incident snapshots linked to these events (taken after the event, so kept beside it).
    const links = await deps.snapshots.forEvents(items.map((e) => e.id));
    const withLinks = items.map((e) => (links.has(e.id) ? { ...e, snapshots: links.get(e.id) } : e));
    res.json({
      // Plates and person hashes: masked for volunteers and patrols; a full read is audited.
      items: await personalView(deps.audit, principalOf(res), withLinks, { estate, target: 'events', count: withLinks.length }),
      ...(more && last ? { nextCursor: encodeCursor({ ts: last.ts, seq: last.seq, id: last.id }) } : {}),
    });
  });

  app.get('/api/v1/events/counts', auth, async (req, res) => {
    const parsed = CountsQuery.safeParse(req.query);
    if (!parsed.success) throw badQuery(parsed.error);
    const estates = estatesToRead(principalOf(res), parsed.data.estate);
    let items;
    try {
      if (estates === undefined || estates.length === 1) items = await store.counts({ ...parsed.data, estate: estates?.[0] });
      else {
        // Sum the per-estate buckets; same order as one query: start, then type.
        const sums = new Map<string, { start: number; type: string; count: number }>();
        for (const rows of await Promise.all(estates.map((e) => store.counts({ ...parsed.data, estate: e })))) {
          for (const r of rows) {
            const k = `${r.start}\u0000${r.type}`;
            const sum = sums.get(k);
            if (sum) sum.count += r.count;
            else sums.set(k, { ...r });
          }
        }
        items = [...sums.values()].sort((a, b) => a.start - b.start || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
      }
    } catch (err) {
      throw new RbError('RB_ERR_STORE_UNAVAILABLE', (err as Error).message);
    }
    res.json({ items });
  });

  app.use(
    snapshotRoutes({
      snapshots: deps.snapshots,
      registry: deps.registry,
      log,
      auth,
      maxBytes: deps.maxSnapshotBytes,
    }),
  );

  app.use(adminRoutes({ registry: deps.registry, deadLetters: deps.deadLetters, auth }));

  app.use(peopleRoutes({ people: deps.people, audit: deps.audit, registry: deps.registry, log, ...(deps.loginLimit ? { limiter: createLoginLimiter(deps.loginLimit) } : {}) }));
  app.use(rosterRoutes({ people: deps.people, audit: deps.audit, openAlerts: deps.openAlerts, pushHandover: deps.pushHandover }));

  if (deps.state) app.use(stateRoutes(deps.state, auth, (estate) => deps.registry.getEstate(estate) !== undefined));
  for (const router of deps.routes ?? []) app.use(router);

  app.get('/api/v1/gateways', auth, (_req, res) => {
    const p = principalOf(res);
    res.json({ items: deps.registry.listGateways().filter((g) => inScope(p, g.estate)) });
  });

  // The screens (web/, bundled by scripts/build-web.mjs): hashed assets cached for good, the page
  // never; client routes (web/src/router.ts) get the page too (path routing).
  const web = webDir();
  if (web) app.use('/assets', express.static(join(web, 'assets'), { immutable: true, maxAge: '1y', index: false }));
  // Favicon, app icons and manifest (scripts/icons.mjs): browsers ask for /favicon.ico on every load.
  app.get(WEB_ROOT_FILES.map((f) => `/${f}`), (req, res) => {
    if (!web) throw new RbError('RB_ERR_NOT_FOUND', 'the screens are not built: run npm run build');
    res.set('Cache-Control', 'public, max-age=86400').sendFile(join(web, req.path.slice(1)));
  });
  // The service worker (web/src/sw.ts): its scope is the whole app; never cached, so a release replaces it.
  app.get('/sw.js', (_req, res) => {
    if (!web) throw new RbError('RB_ERR_NOT_FOUND', 'the screens are not built: run npm run build');
    res.set({ 'Cache-Control': 'no-cache', 'Service-Worker-Allowed': '/' }).type('text/javascript').sendFile(join(web, 'sw.js'));
  });
  app.get(CLIENT_ROUTES, (_req, res) => {
    if (!web) throw new RbError('RB_ERR_NOT_FOUND', 'the screens are not built: run npm run build');
    res.set('Cache-Control', 'no-cache').sendFile(join(web, 'index.html'));
  });
  // Any other page a browser asks for: the app, with status 404, so it shows its own not-found page
  // instead of raw JSON. API paths, assets and non-HTML clients keep the JSON error below.
  app.use((req, res, next) => {
    const page = (req.method === 'GET' || req.method === 'HEAD') && !API_PATHS.test(req.path) && req.accepts(['json', 'html']) === 'html';
    if (!web || !page) return next();
    res.status(404).set('Cache-Control', 'no-cache').sendFile(join(web, 'index.html'));
  });

  app.use((req) => {
    throw new RbError('RB_ERR_NOT_FOUND', `no route for ${req.method} ${req.path}`);
  });

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const type = (err as { type?: string }).type;
    const e =
      err instanceof RbError
        ? err
        : type === 'entity.too.large'
          ? new RbError('RB_ERR_TOO_LARGE', 'the body is larger than the hub accepts')
          : type === 'entity.parse.failed'
            ? new RbError('RB_ERR_BAD_BODY', 'the body is not valid JSON')
            : new RbError('RB_ERR_INTERNAL', 'internal error');
    if (e.status >= 500) log.error({ err, path: req.path, code: e.code }, 'request failed');
    else log.info({ path: req.path, code: e.code, msg: e.message }, 'request refused');
    res.status(e.status).json({ error: { code: e.code, title: ERRORS[e.code].title, message: e.message } });
  };
  app.use(onError);
  return app;
}
