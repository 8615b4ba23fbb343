import express, { Router, type Response } from 'express';
import { ulid } from 'ulid';
import { localTime, zonedInstant } from '../../lib/zoned.js';
import { z } from 'zod';
import { COMMANDS, Id, Ulid, parseCommandArgs, type CommandName } from '../../protocol/index.js';
import { ROLES, type HistoryPage, type Overview, type Today } from '../../protocol/api.js';
import { alertView, type AlertService, type NameOf } from '../alerts/service.js';
import type { AlertStore } from '../alerts/store.js';
import type { Audit } from '../audit.js';
import type { Commands } from '../commands/index.js';
import { RbError } from '../errors.js';
import type { People } from '../people/index.js';
import { actorOf, type Principal } from '../people/principals.js';
import type { Role } from '../people/scopes.js';
import type { Registry } from '../registry.js';
import type { StateService } from '../state/index.js';
import type { EventStore } from '../store/types.js';
import { alertDetailView } from './alert-detail.js';
import type { NotificationView } from '../notify/types.js';
import { parseOr } from './people.js';
import { personalView } from './personal.js';
import { estatesToRead, inScope, principalOf, requireEstate, requireRole, userAuth } from './user-auth.js';

export interface AlertRoutesDeps {
  people: People;
  audit: Audit;
  alerts: AlertService;
  store: AlertStore;
  events: EventStore;
  registry: Registry;
  commands: Commands;
  state?: Pick<StateService, 'estate'>;
  timeZone: string;
  nameOf?: NameOf;
  /** An alert's off-screen notifications, addresses masked (hub/notify). */
  notifications?: (alertId: string) => Promise<NotificationView[]>;
}

const STATES = ['open', 'acknowledged', 'escalated', 'resolved'] as const;
/** A comma-separated query parameter (`state=open,escalated`). */
const csv = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').filter(Boolean) : v), z.array(item).min(1).max(20));
const ListQuery = z
  .object({
    estate: Id.optional(),
    state: csv(z.enum(STATES)).optional(),
    severity: csv(z.coerce.number().int().min(1).max(4)).optional(),
    rule: csv(z.string().max(64)).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    before: Ulid.optional(),
    sort: z.enum(['opened', 'severity']).default('opened'),
  })
  .strict();
const DAY_MS = 86_400_000;
/** The longest history one request may span. */
export const MAX_HISTORY_DAYS = 92;
const HistoryQuery = z
  .object({
    from: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    to: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    estate: Id.optional(),
    rule: csv(z.string().max(64)).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(500),
    before: Ulid.optional(),
  })
  .strict();
const AckBody = z.object({ note: z.string().max(2000).optional() }).strict();
const ResolveBody = z.object({ note: z.string().trim().min(1, 'a note saying what was done is required').max(2000) }).strict();
const AssignBody = z.object({ user: z.string().min(1).max(64).nullable() }).strict();
const CommentBody = z.object({ text: z.string().trim().min(1).max(2000) }).strict();
const CommandBody = z
  .object({
    estate: Id,
    device: Id,
    name: z.enum(Object.keys(COMMANDS) as [CommandName, ...CommandName[]]),
    args: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/** Who may send which command: opening a door or a barrier is the volunteers' daily work; lists are the center's. */
const COMMAND_ROLES: Record<string, readonly Role[]> = {
  'plates.set': ['center', 'admin'],
  'door.alwaysOpen': ['center', 'admin'],
  'door.alwaysClosed': ['center', 'admin'],
};
const ANY_ROLE: readonly Role[] = ROLES;

/** Local midnight (start of today) in a time zone, ms, and the local date. */
export function startOfLocalDay(now: number, timeZone: string): { start: number; date: string } {
  const l = localTime(now, timeZone);
  const date = `${l.year}-${String(l.month).padStart(2, '0')}-${String(l.day).padStart(2, '0')}`;
  return { start: zonedInstant(l.year, l.month, l.day, 0, timeZone), date };
}

/**
 * Alerts, commands and the figures screens show (docs/alerts.md). Every route is scoped: an alert
 * outside the caller's estates is "not found", a list holds only estates in scope, and volunteers and
 * patrols get plates and person hashes masked. A center or admin reading unmasked personal data is
 * audited (`view.personal`), one entry per request.
 */
export function alertRoutes(deps: AlertRoutesDeps): Router {
  const { people, audit, alerts, store } = deps;
  const router = Router();
  const auth = userAuth(people.principals);
  const json = express.json({ limit: '16kb' });

  const shown = <T>(p: Principal, value: T, what: Parameters<typeof personalView>[3]): Promise<T> => personalView(audit, p, value, what);

  async function alertInScope(p: Principal, id: string) {
    const parsed = Ulid.safeParse(id);
    if (!parsed.success) throw new RbError('RB_ERR_BAD_ID', 'an alert id is a ULID');
    const alert = await store.get(id);
    // Out of scope reads as absent: the answer must not confirm that an alert exists elsewhere.
    if (!alert || !inScope(p, alert.estate)) throw new RbError('RB_ERR_NOT_FOUND', `no alert ${id}`);
    return alert;
  }

  /** The detail view (timeline, linked events, names), masked or audited for this principal. */
  const respond = async (res: Response, p: Principal, detail: NonNullable<Awaited<ReturnType<AlertStore['get']>>>) => {
    const view = await alertDetailView(detail, { events: deps.events, nameOf: deps.nameOf, notifications: deps.notifications });
    res.json(await shown(p, view, { estate: detail.estate, target: `alert:${detail.id}` }));
  };

  router.get('/api/v1/alerts', auth, async (req, res) => {
    const p = principalOf(res);
    const q = parseOr(ListQuery, req.query, 'RB_ERR_BAD_QUERY');
    const estates = estatesToRead(p, q.estate) ?? deps.registry.listEstates().map((e) => e.id);
    const page = await store.list({ estates, state: q.state, severity: q.severity, rule: q.rule, limit: q.limit, before: q.before, sort: q.sort });
    const items = page.items.map((a) => alertView(a, deps.nameOf));
    res.json({ items: await shown(p, items, { estate: q.estate, target: 'alerts', count: items.length }), next: page.next });
  });

  // Before /alerts/:id, which would take "history" for an id.
  router.get('/api/v1/alerts/history', auth, async (req, res) => {
    const p = principalOf(res);
    const q = parseOr(HistoryQuery, req.query, 'RB_ERR_BAD_QUERY');
    const to = q.to ?? Date.now();
    const from = q.from ?? to - 7 * DAY_MS;
    if (to <= from) throw new RbError('RB_ERR_BAD_QUERY', 'to: must be after from');
    if (to - from > MAX_HISTORY_DAYS * DAY_MS) throw new RbError('RB_ERR_BAD_QUERY', `to: the range spans more than ${MAX_HISTORY_DAYS} days; narrow it`);
    const estates = estatesToRead(p, q.estate) ?? deps.registry.listEstates().map((e) => e.id);
    const page = await store.history({ estates, rule: q.rule, from, to, limit: q.limit, before: q.before });
    // Days in the hub's time zone, newest first, each with its counts per rule over the whole day
    // (within from..to), not only over the items of this page.
    const days: Array<{ day: string; counts: Record<string, number>; items: ReturnType<typeof alertView>[] }> = [];
    for (const a of page.items) {
      const { start, date } = startOfLocalDay(a.resolvedAt!, deps.timeZone);
      let day = days[days.length - 1];
      if (day?.day !== date) {
        const l = localTime(a.resolvedAt!, deps.timeZone);
        const end = zonedInstant(l.year, l.month, l.day + 1, 0, deps.timeZone);
        day = { day: date, counts: await store.resolvedCounts({ estates, rule: q.rule, from: Math.max(from, start), to: Math.min(to, end) }), items: [] };
        days.push(day);
      }
      day.items.push(alertView(a, deps.nameOf));
    }
    res.json({ from, to, timeZone: deps.timeZone, days: await shown(p, days, { estate: q.estate, target: 'alerts.history', count: page.items.length }), next: page.next } satisfies HistoryPage);
  });

  router.get('/api/v1/alerts/:id', auth, async (req, res) => {
    const p = principalOf(res);
    await respond(res, p, await alertInScope(p, String(req.params.id)));
  });

  // Who was told off-screen, how, when, whether it arrived: scoped like the alert, addresses masked.
  router.get('/api/v1/alerts/:id/notifications', auth, async (req, res) => {
    const p = principalOf(res);
    const alert = await alertInScope(p, String(req.params.id));
    const items = deps.notifications ? await deps.notifications(alert.id) : [];
    res.json(await shown(p, items, { estate: alert.estate, target: `alert:${alert.id}.notifications`, count: items.length }));
  });

  const transition = (name: 'ack' | 'resolve' | 'assign' | 'comment') =>
    router.post(`/api/v1/alerts/:id/${name}`, auth, json, async (req, res) => {
      const p = principalOf(res);
      const alert = await alertInScope(p, String(req.params.id));
      const actor = actorOf(p);
      // The audit entry commits in the transition's own transaction (with its push messages).
      const entry = (detail: Record<string, unknown>) => ({ actor, action: `alert.${name}`, estate: alert.estate, target: `alert:${alert.id}`, detail });
      if (name === 'ack') {
        const body = parseOr(AckBody, req.body ?? {}, 'RB_ERR_BAD_BODY');
        await alerts.acknowledge(alert.id, actor, body.note, (change) => entry({ changed: change.changed, note: body.note }));
      } else if (name === 'resolve') {
        const body = parseOr(ResolveBody, req.body ?? {}, 'RB_ERR_BAD_BODY');
        await alerts.resolve(alert.id, actor, body.note, (change) => entry({ changed: change.changed, note: body.note }));
      } else if (name === 'assign') {
        const body = parseOr(AssignBody, req.body ?? {}, 'RB_ERR_BAD_BODY');
        let assignee: string | null = null;
        if (body.user !== null) {
          const user = people.users.find(body.user);
          if (!user) throw new RbError('RB_ERR_UNKNOWN_USER', `no user ${body.user}`);
          assignee = `user:${user.id}`;
        }
        await alerts.assign(alert.id, assignee, actor, (change) => entry({ changed: change.changed, assignee }));
      } else {
        const body = parseOr(CommentBody, req.body ?? {}, 'RB_ERR_BAD_BODY');
        await alerts.comment(alert.id, actor, body.text, (c) => entry({ comment: c.id }));
      }
      await respond(res, p, (await store.get(alert.id))!);
    });
  transition('ack');
  transition('resolve');
  transition('assign');
  transition('comment');

  router.get('/api/v1/estates/:estate/alert-settings', auth, (req, res) => {
    const p = principalOf(res);
    const estate = parseOr(Id, req.params.estate, 'RB_ERR_BAD_QUERY');
    requireEstate(p, estate);
    res.json(store.settings(estate));
  });

  router.put('/api/v1/estates/:estate/alert-settings', auth, json, async (req, res) => {
    const p = principalOf(res);
    requireRole(p, 'center', 'admin');
    const estate = parseOr(Id, req.params.estate, 'RB_ERR_BAD_QUERY');
    requireEstate(p, estate);
    const saved = await store.saveSettings(estate, req.body ?? {});
    await audit.record({ actor: actorOf(p), action: 'alert.settings', estate, target: `estate:${estate}`, detail: req.body as Record<string, unknown> });
    void alerts.wake();
    res.json(saved);
  });

  router.post('/api/v1/commands', auth, json, async (req, res) => {
    const p = principalOf(res);
    const body = parseOr(CommandBody, req.body ?? {}, 'RB_ERR_BAD_BODY');
    requireEstate(p, body.estate);
    requireRole(p, ...(COMMAND_ROLES[body.name] ?? ANY_ROLE));
    const args = parseCommandArgs(body.name, body.args);
    if (!args.ok) throw new RbError('RB_ERR_BAD_BODY', `args: ${args.message}`);
    const device = deps.registry.listDevices({ estate: body.estate }).find((d) => d.device === body.device);
    if (!device) throw new RbError('RB_ERR_UNKNOWN_DEVICE', `no device ${body.device} in estate ${body.estate} (devices are learnt from gateway status)`);
    const actor = actorOf(p);
    // Before the audit entry: a command that cannot be sent (cluster: Redis away) is not "sent".
    deps.commands.assertAvailable();
    const commandId = ulid();
    const entry = { actor, action: 'command.send', estate: body.estate, target: `device:${body.device}`, detail: { id: commandId, name: body.name, args: args.args } };
    // Recorded (row `sent`) and published; the gateway's answer is recorded, audited and pushed to the
    // estate when it comes back through the log (hub/commands), or the expiry sweep gives up on it.
    // Audited by the command service once its row exists: a command refused on the way (Redis lost
    // between the check above and the publish) is audited as sent, then failed at once (nothing was sent).
    await deps.commands.issue({
      id: commandId,
      estate: body.estate,
      gateway: device.gateway,
      device: body.device,
      name: body.name,
      args: args.args,
      actor: { id: actor, name: p.name.slice(0, 100), role: p.role },
      audit: entry,
    });
    res.status(202).json({ id: commandId, estate: body.estate, device: body.device, gateway: device.gateway, name: body.name });
  });

  // One command's state and outcome (the table hub/commands keeps): for a screen that missed the push.
  router.get('/api/v1/commands/:id', auth, async (req, res) => {
    const p = principalOf(res);
    const id = parseOr(Ulid, req.params.id, 'RB_ERR_BAD_QUERY');
    const record = await deps.commands.get(id);
    if (!record || !inScope(p, record.estate)) throw new RbError('RB_ERR_NOT_FOUND', `no command ${id}`);
    res.json(record);
  });

  router.get('/api/v1/estates/:estate/today', auth, async (req, res) => {
    const p = principalOf(res);
    const estate = parseOr(Id, req.params.estate, 'RB_ERR_BAD_QUERY');
    requireEstate(p, estate);
    const now = Date.now();
    const { start, date } = startOfLocalDay(now, deps.timeZone);
    const count = async (type: string): Promise<number> => {
      const rows = await deps.events.counts({ estate, type, from: start, to: now + 1, interval: '1d' });
      return rows.reduce((n, r) => n + r.count, 0);
    };
    const [entries, vehiclesIn, vehiclesOut] = await Promise.all([count('access.granted'), count('vehicle.entered'), count('vehicle.exited')]);
    const stats = await store.stats({ estates: [estate], from: start, to: now + 1 });
    res.json({
      estate,
      date,
      timeZone: deps.timeZone,
      entries,
      vehiclesIn,
      vehiclesOut,
      occupancy: deps.state?.estate(estate)?.occupancy.count ?? null,
      alertsOpened: stats.opened,
      alertsResolved: stats.resolved,
      medianAckS: stats.medianAckS,
    } satisfies Today);
  });

  router.get('/api/v1/overview', auth, async (_req, res) => {
    const p = principalOf(res);
    const estates = deps.registry.listEstates().filter((e) => inScope(p, e.id));
    const ids = estates.map((e) => e.id);
    const open = await store.openCounts(ids);
    const now = Date.now();
    res.json({
      estates: estates.map((e) => {
        const s = deps.state?.estate(e.id)?.summary;
        return {
          id: e.id,
          name: e.name,
          grid: e.grid,
          street: e.street,
          gatewaysOnline: s?.gateways.online ?? 0,
          gatewaysTotal: s?.gateways.total ?? 0,
          devicesOffline: s?.devices.offline ?? 0,
          devicesTotal: s?.devices.total ?? 0,
          doorsForced: s?.doors.forced ?? 0,
          pressure: s?.pressure ?? false,
          openAlerts: open[e.id],
        };
      }),
      // The streets of these estates, by name: the street overview is titled with its street.
      streets: deps.registry.listStreets().filter((st) => estates.some((e) => e.street === st.id)),
      response: await store.stats({ estates: ids, from: now - 7 * 24 * 3600_000, to: now + 1 }),
    } satisfies Overview);
  });

  return router;
}
