import type { Selectable, Transaction } from 'kysely';
import type { Logger } from 'pino';
import { ulid } from 'ulid';
import { inDailyWindow, type DailyWindow } from '../alerts/hours.js';
import { RbError } from '../errors.js';
import { createPeopleChanges, type PeopleChanges } from '../people/changes.js';
import type { Users } from '../people/users.js';
import { isUniqueViolation, type HubDatabase, type Schema } from '../platform/db/index.js';
import type { ContactPointTable, ContactPolicyTable, GroupRobotTable } from '../platform/db/schema-contacts.js';
import type { Registry } from '../registry.js';
import type { Address, AddressKind, Lang } from './channel.js';
import { ContactPointPatch, GroupRobotPatch, NewContactPoint, NewGroupRobot, parseAddress, parseBody, PolicyInput } from './contact-input.js';
import { phoneKey } from './phone.js';
import type { ContactBook, ContactRoute } from './types.js';

export interface ContactPoint {
  id: string;
  userId: string;
  channelId: string;
  kind: 'phone' | 'wecom-user';
  /** Normalised (E.164 for a phone). */
  address: string;
  minSeverity: number;
  fallback: boolean;
  position: number;
  createdAt: number;
}

export interface ContactPolicy {
  userId: string;
  quietHours: DailyWindow | null;
  lang: Lang;
  /** null: never set (the defaults). */
  updatedAt: number | null;
}

export interface GroupRobot {
  id: string;
  /** `estate:<id>` or `grid:<id>`. */
  scope: string;
  channelId: string;
  minSeverity: number;
  position: number;
  createdAt: number;
}

/** One route another part keeps (e.g. Web Push subscriptions in their own table), before the person's policy. */
export interface SourceRoute {
  channelId: string;
  address: Address;
  /** Default 1: every severity. */
  minSeverity?: number;
  fallback?: boolean;
}
/** Synchronous and without I/O, like routesFor itself (an in-memory copy of its own table). */
export type RouteSource = (userId: string) => readonly SourceRoute[];

/** A configured channel, as far as the contact book checks what is written against it. */
export interface ChannelInfo {
  id: string;
  accepts: readonly AddressKind[];
}

export interface ContactStore extends ContactBook {
  /** A person's contact points in order (the copy). */
  list(userId: string): ContactPoint[];
  get(id: string): ContactPoint | undefined;
  add(userId: string, input: NewContactPoint): Promise<ContactPoint>;
  update(id: string, patch: ContactPointPatch): Promise<ContactPoint>;
  remove(id: string): Promise<ContactPoint>;
  /** The person's policy, or the defaults (no quiet hours, zh-CN). */
  policy(userId: string): ContactPolicy;
  setPolicy(userId: string, input: PolicyInput): Promise<ContactPolicy>;
  /** Group robots, of one scope or all, in order. */
  robots(scope?: string): GroupRobot[];
  robot(id: string): GroupRobot | undefined;
  addRobot(input: NewGroupRobot): Promise<GroupRobot>;
  updateRobot(id: string, patch: GroupRobotPatch): Promise<GroupRobot>;
  removeRobot(id: string): Promise<GroupRobot>;
  /** Join in routes kept elsewhere (Web Push subscriptions); they follow the person's own points. Returns the removal. */
  addSource(source: RouteSource): () => void;
  /** Read the three tables into the copy again. */
  reload(): Promise<void>;
  /** reload(), then watch other processes' writes (people_changes, kind `contacts`). */
  start(): Promise<void>;
  close(): void;
}

export interface ContactStoreDeps {
  db: HubDatabase;
  /** The hub's time zone (config timeZone): quiet hours are local wall-clock times in it. */
  timeZone: string;
  /** Disabled users are never routed to nor matched by phone. */
  users?: Pick<Users, 'get'>;
  /** An estate's grid, for grid robots. */
  registry?: Pick<Registry, 'getEstate'>;
  /** The configured channels (`notify.channels`): a write naming another id, or a kind it does not take, is refused. */
  channels?: () => readonly ChannelInfo[];
  sources?: readonly RouteSource[];
  /** Language of group robot messages (default zh-CN). */
  groupLang?: Lang;
  /** Watch other processes' writes (default true). */
  watch?: boolean;
  pollMs?: number;
  log?: Logger;
  now?: () => number;
}

/** A severity at or above this ignores personal quiet hours (issue 17: "a severity >= 3 alert ignores personal quiet hours"). */
export const QUIET_HOURS_OVERRIDE = 3;

const toPoint = (r: Selectable<ContactPointTable>): ContactPoint => ({
  id: r.id,
  userId: r.user_id,
  channelId: r.channel,
  kind: r.kind,
  address: r.address,
  minSeverity: r.min_severity,
  fallback: r.fallback === 1,
  position: r.position,
  createdAt: r.created_at,
});
const toPolicy = (r: Selectable<ContactPolicyTable>): ContactPolicy => ({ userId: r.user_id, quietHours: r.quiet_from && r.quiet_to ? { from: r.quiet_from, to: r.quiet_to } : null, lang: r.lang, updatedAt: r.updated_at });
const toRobot = (r: Selectable<GroupRobotTable>): GroupRobot => ({ id: r.id, scope: r.scope, channelId: r.channel, minSeverity: r.min_severity, position: r.position, createdAt: r.created_at });
const byPosition = <T extends { position: number; createdAt: number; id: string }>(a: T, b: T): number => a.position - b.position || a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1);
const toAddress = (p: ContactPoint): Address => (p.kind === 'phone' ? { kind: 'phone', phone: p.address } : { kind: 'wecom-user', userId: p.address });

/**
 * The contact book on the hub database (tables of migration 0010_contacts), with an in-memory copy
 * for the hot path: `routesFor` and `groupRoutes` run inside an alert's outbox transaction, and
 * `userByPhone` for every SMS reply; all three are synchronous and never touch the database. As with
 * users and roster (hub/people), each write commits with a `people_changes` row (kind `contacts`)
 * and then reloads the copy; another process's writes reach it through that journal within its poll.
 */
export function createContactBook(deps: ContactStoreDeps): ContactStore {
  const { db } = deps.db;
  const now = deps.now ?? (() => Date.now());
  const sources = new Set<RouteSource>(deps.sources ?? []);
  let points = new Map<string, ContactPoint>();
  let byUser = new Map<string, ContactPoint[]>();
  let byPhone = new Map<string, Set<string>>();
  let policies = new Map<string, ContactPolicy>();
  let robots: GroupRobot[] = [];
  let reloading: Promise<void> = Promise.resolve();

  const changes: PeopleChanges = createPeopleChanges({
    db: deps.db,
    pollMs: deps.pollMs,
    onChanges: async (list) => {
      const mine = list.filter((c) => c.kind === 'contacts');
      if (mine.some((c) => c.userId === null)) await refresh(readRobots);
      for (const userId of new Set(mine.flatMap((c) => (c.userId === null ? [] : [c.userId])))) await refresh(() => readUser(userId));
    },
    onError: (err) => deps.log?.warn({ err }, 'contact book: change journal poll failed'),
  });

  async function readAll(): Promise<void> {
    const [pRows, polRows, rRows] = await Promise.all([
      db.selectFrom('contact_points').selectAll().execute(),
      db.selectFrom('contact_policies').selectAll().execute(),
      db.selectFrom('group_robots').selectAll().execute(),
    ]);
    const nextPoints = new Map(pRows.map((r) => [r.id, toPoint(r)]));
    const nextByUser = new Map<string, ContactPoint[]>();
    const nextByPhone = new Map<string, Set<string>>();
    for (const p of nextPoints.values()) {
      let list = nextByUser.get(p.userId);
      if (!list) nextByUser.set(p.userId, (list = []));
      list.push(p);
      if (p.kind === 'phone') {
        const key = phoneKey(p.address);
        if (key) nextByPhone.set(key, (nextByPhone.get(key) ?? new Set()).add(p.userId));
      }
    }
    for (const list of nextByUser.values()) list.sort(byPosition);
    points = nextPoints;
    byUser = nextByUser;
    byPhone = nextByPhone;
    policies = new Map(polRows.map((r) => [r.user_id, toPolicy(r)]));
    robots = rRows.map(toRobot).sort(byPosition);
  }
  /** One person's points and policy (after a write to them: the rest of the copy stays). */
  async function readUser(userId: string): Promise<void> {
    const [pRows, pol] = await Promise.all([
      db.selectFrom('contact_points').selectAll().where('user_id', '=', userId).execute(),
      db.selectFrom('contact_policies').selectAll().where('user_id', '=', userId).executeTakeFirst(),
    ]);
    for (const p of byUser.get(userId) ?? []) {
      points.delete(p.id);
      const key = p.kind === 'phone' ? phoneKey(p.address) : undefined;
      const set = key ? byPhone.get(key) : undefined;
      if (key && set) {
        set.delete(userId);
        if (set.size === 0) byPhone.delete(key);
      }
    }
    const list = pRows.map(toPoint).sort(byPosition);
    for (const p of list) {
      points.set(p.id, p);
      const key = p.kind === 'phone' ? phoneKey(p.address) : undefined;
      if (key) byPhone.set(key, (byPhone.get(key) ?? new Set()).add(userId));
    }
    if (list.length > 0) byUser.set(userId, list);
    else byUser.delete(userId);
    if (pol) policies.set(userId, toPolicy(pol));
    else policies.delete(userId);
  }
  async function readRobots(): Promise<void> {
    robots = (await db.selectFrom('group_robots').selectAll().execute()).map(toRobot).sort(byPosition);
  }
  /** Reads of the copy run one after another, so it ends as the last read saw the tables. */
  function refresh(read: () => Promise<void>): Promise<void> {
    reloading = reloading.catch(() => undefined).then(read);
    return reloading;
  }
  const reload = (): Promise<void> => refresh(readAll);

  async function write<T>(userId: string | null, fn: (trx: Transaction<Schema>) => Promise<T>): Promise<T> {
    let out: T;
    try {
      out = await deps.db.transaction(async (trx) => {
        const r = await fn(trx);
        await changes.record(trx, 'contacts', userId);
        return r;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new RbError('RB_ERR_CONFLICT', 'this contact point (or this robot of this scope) exists already');
      throw err;
    }
    await refresh(userId === null ? readRobots : () => readUser(userId));
    return out;
  }

  function checkChannel(channelId: string, kind: AddressKind): void {
    const list = deps.channels?.();
    if (!list) return;
    const ch = list.find((c) => c.id === channelId);
    if (!ch) throw new RbError('RB_ERR_BAD_BODY', `channelId: no channel "${channelId}" is configured (notify.channels[].id: ${list.map((c) => c.id).join(', ') || 'none'})`);
    if (!ch.accepts.includes(kind)) throw new RbError('RB_ERR_BAD_BODY', `channelId: channel "${channelId}" does not send to ${kind} addresses (it takes ${ch.accepts.join(', ')})`);
  }
  const enabled = (userId: string): boolean => (deps.users ? deps.users.get(userId)?.disabled === false : true);
  const mustPoint = (id: string): ContactPoint => {
    const p = points.get(id);
    if (!p) throw new RbError('RB_ERR_NOT_FOUND', `no contact point ${id}`);
    return p;
  };
  const mustRobot = (id: string): GroupRobot => {
    const r = robots.find((x) => x.id === id);
    if (!r) throw new RbError('RB_ERR_NOT_FOUND', `no group robot ${id}`);
    return r;
  };
  const policy = (userId: string): ContactPolicy => policies.get(userId) ?? { userId, quietHours: null, lang: 'zh-CN', updatedAt: null };

  return {
    routesFor(userId, severity, at) {
      if (!enabled(userId)) return [];
      const pol = policy(userId);
      if (pol.quietHours && severity < QUIET_HOURS_OVERRIDE && inDailyWindow(at, pol.quietHours, deps.timeZone)) return [];
      const out: ContactRoute[] = [];
      for (const p of byUser.get(userId) ?? []) {
        if (severity >= p.minSeverity) out.push({ channelId: p.channelId, address: toAddress(p), lang: pol.lang, fallback: p.fallback });
      }
      for (const source of sources) {
        for (const r of source(userId)) {
          if (severity >= (r.minSeverity ?? 1)) out.push({ channelId: r.channelId, address: r.address, lang: pol.lang, fallback: r.fallback ?? false });
        }
      }
      return out;
    },
    groupRoutes(estate, severity) {
      const grid = deps.registry?.getEstate(estate)?.grid ?? null;
      const scopes = new Set([`estate:${estate}`, ...(grid ? [`grid:${grid}`] : [])]);
      const lang = deps.groupLang ?? 'zh-CN';
      const seen = new Set<string>();
      const out: ContactRoute[] = [];
      // The estate's own robots first, then its grid's; one message per channel instance.
      for (const scope of scopes) {
        for (const r of robots) {
          if (r.scope !== scope || severity < r.minSeverity || seen.has(r.channelId)) continue;
          seen.add(r.channelId);
          out.push({ channelId: r.channelId, address: { kind: 'group' }, lang, fallback: false });
        }
      }
      return out;
    },
    userByPhone(phone) {
      const key = phoneKey(phone);
      if (!key) return undefined;
      const users = [...(byPhone.get(key) ?? [])].filter(enabled);
      // Two people sharing one number: a reply cannot say who acknowledged, so nobody does.
      return users.length === 1 ? users[0] : undefined;
    },
    list: (userId) => [...(byUser.get(userId) ?? [])],
    get: (id) => points.get(id),
    async add(userId, input) {
      const body = parseBody(NewContactPoint, input);
      checkChannel(body.channelId, body.kind);
      const id = ulid();
      await write(userId, async (trx) => {
        let position = body.position;
        if (position === undefined) {
          const max = await trx.selectFrom('contact_points').select((eb) => eb.fn.max('position').as('p')).where('user_id', '=', userId).executeTakeFirst();
          position = max?.p === null || max?.p === undefined ? 0 : Number(max.p) + 1;
        }
        await trx
          .insertInto('contact_points')
          .values({ id, user_id: userId, channel: body.channelId, kind: body.kind, address: body.address, min_severity: body.minSeverity, fallback: body.fallback ? 1 : 0, position, created_at: now() })
          .execute();
      });
      return mustPoint(id);
    },
    async update(id, patch) {
      const body = parseBody(ContactPointPatch, patch);
      const before = mustPoint(id);
      const address = body.address === undefined ? undefined : parseAddress(before.kind, body.address);
      if (body.channelId !== undefined) checkChannel(body.channelId, before.kind);
      const set = {
        ...(body.channelId !== undefined ? { channel: body.channelId } : {}),
        ...(address !== undefined ? { address } : {}),
        ...(body.minSeverity !== undefined ? { min_severity: body.minSeverity } : {}),
        ...(body.fallback !== undefined ? { fallback: body.fallback ? 1 : 0 } : {}),
        ...(body.position !== undefined ? { position: body.position } : {}),
      };
      if (Object.keys(set).length > 0) await write(before.userId, (trx) => trx.updateTable('contact_points').set(set).where('id', '=', id).execute());
      return mustPoint(id);
    },
    async remove(id) {
      const before = mustPoint(id);
      await write(before.userId, (trx) => trx.deleteFrom('contact_points').where('id', '=', id).execute());
      return before;
    },
    policy,
    async setPolicy(userId, input) {
      const body = parseBody(PolicyInput, input);
      const row = { quiet_from: body.quietHours?.from ?? null, quiet_to: body.quietHours?.to ?? null, lang: body.lang, updated_at: now() };
      await write(userId, (trx) =>
        trx
          .insertInto('contact_policies')
          .values({ user_id: userId, ...row })
          .onConflict((oc) => oc.column('user_id').doUpdateSet(row))
          .execute(),
      );
      return policy(userId);
    },
    robots: (scope) => robots.filter((r) => scope === undefined || r.scope === scope),
    robot: (id) => robots.find((r) => r.id === id),
    async addRobot(input) {
      const body = parseBody(NewGroupRobot, input);
      checkChannel(body.channelId, 'group');
      const id = ulid();
      await write(null, async (trx) => {
        let position = body.position;
        if (position === undefined) {
          const max = await trx.selectFrom('group_robots').select((eb) => eb.fn.max('position').as('p')).where('scope', '=', body.scope).executeTakeFirst();
          position = max?.p === null || max?.p === undefined ? 0 : Number(max.p) + 1;
        }
        await trx.insertInto('group_robots').values({ id, scope: body.scope, channel: body.channelId, min_severity: body.minSeverity, position, created_at: now() }).execute();
      });
      return mustRobot(id);
    },
    async updateRobot(id, patch) {
      const body = parseBody(GroupRobotPatch, patch);
      mustRobot(id);
      if (body.channelId !== undefined) checkChannel(body.channelId, 'group');
      const set = {
        ...(body.channelId !== undefined ? { channel: body.channelId } : {}),
        ...(body.minSeverity !== undefined ? { min_severity: body.minSeverity } : {}),
        ...(body.position !== undefined ? { position: body.position } : {}),
      };
      if (Object.keys(set).length > 0) await write(null, (trx) => trx.updateTable('group_robots').set(set).where('id', '=', id).execute());
      return mustRobot(id);
    },
    async removeRobot(id) {
      const before = mustRobot(id);
      await write(null, (trx) => trx.deleteFrom('group_robots').where('id', '=', id).execute());
      return before;
    },
    addSource(source) {
      sources.add(source);
      return () => void sources.delete(source);
    },
    reload,
    async start() {
      if (deps.watch !== false) await changes.start();
      await reload();
    },
    close: () => changes.stop(),
  };
}
