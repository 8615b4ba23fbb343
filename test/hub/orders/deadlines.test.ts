import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry as MetricsRegistry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Ownership } from '../../../hub/cluster/leases.js';
import { RbError } from '../../../hub/errors.js';
import { resolveHubConfig } from '../../../hub/config.js';
import { ConfigError } from '../../../lib/config-errors.js';
import { createDeadlineSweep } from '../../../hub/orders/deadlines-sweep.js';
import { deadlinesFrom, nextTier, OrderDeadlinesConfig } from '../../../hub/orders/deadlines.js';
import { tierRecipients } from '../../../hub/orders/recipients.js';
import type { WorkOrders } from '../../../hub/orders/types.js';
import type { User } from '../../../hub/people/users.js';
import { openDatabase, type HubDatabase } from '../../../hub/platform/db/index.js';
import type { OrderTier, WorkOrderView } from '../../../protocol/work-orders.js';

/**
 * The deadline sweep against a real (SQLite) hub database and an in-test work-order service over the
 * same tables (docs/work-orders.md), so the sweep's own decisions are seen alone: grid → community → street, each level's people told,
 * the street stays overdue, a second sweeper does not move an order twice,
 * and an estate another node owns is left alone. The REST flow on a real hub: orders-tiers-api.
 */
const log = pino({ level: 'silent' });
const H = 3_600_000;

function user(id: string, role: User['role'], scopes: string[]): User {
  return { id, name: id, displayName: null, role, scopes, tokenVersion: 0, disabled: false, createdAt: 0, hasPassword: false };
}
const USERS = [
  user('vol-on', 'volunteer', ['estate:e1']),
  user('grid-patrol', 'patrol', ['grid:g1']),
  user('comm-center', 'center', ['estate:e1']),
  user('grid-center', 'center', ['grid:g1']),
  user('street-center', 'center', ['street:s1']),
  user('street-admin', 'admin', ['street:s1']),
  user('other-street', 'center', ['street:s2']),
];

/** Just enough of the work-order service over those tables. */
function inTestOrders(hub: HubDatabase, deadlineFor: ReturnType<typeof deadlinesFrom>, now: () => number): Pick<WorkOrders, 'get' | 'change'> & { add(id: string, at: number, state?: string): Promise<void> } {
  const db = hub.db as never as import('kysely').Kysely<Record<string, Record<string, unknown>>>;
  return {
    async add(id, at, state = 'new') {
      await db
        .insertInto('work_orders')
        .values({ id, no: `GD-${id}`, estate: 'e1', source: 'resident', category: 'repair', tier: 'grid', state, title: 't', description: 'd', created_at: at, updated_at: at, tier_at: at, deadline_at: deadlineFor('repair', 'grid', at), resolved_at: state === 'resolved' ? at : null })
        .execute();
    },
    async get(id, opts) {
      const o = (await db.selectFrom('work_orders').selectAll().where('id', '=', id).executeTakeFirst()) as Record<string, unknown> | undefined;
      if (!o) return undefined;
      const steps = opts?.steps ? await db.selectFrom('work_order_steps').selectAll().where('order_id', '=', id).orderBy('id').execute() : undefined;
      return {
        id,
        no: String(o.no),
        estate: String(o.estate),
        source: 'resident',
        category: 'repair',
        tier: o.tier as OrderTier,
        state: o.state as WorkOrderView['state'],
        title: 't',
        description: 'd',
        phone: '13812345678',
        createdAt: Number(o.created_at),
        updatedAt: Number(o.updated_at),
        deadlineAt: o.deadline_at === null ? null : Number(o.deadline_at),
        overdue: false,
        reopenCount: 0,
        ...(steps ? { steps: steps.map((s) => ({ id: String(s.id), at: Number(s.at), action: s.action as never, actor: String(s.actor), tier: s.tier as OrderTier, note: s.note as string, photos: [] })) } : {}),
      };
    },
    async change(id, change) {
      if (change.action === 'escalate') {
        // As the service does (hub/orders/transitions.ts): only from the tier the caller read.
        const from = (change as { fromTier?: OrderTier }).fromTier!;
        const to = nextTier(from)!;
        const at = now();
        const r = await db.updateTable('work_orders').set({ tier: to, tier_at: at, deadline_at: deadlineFor('repair', to, at), updated_at: at }).where('id', '=', id).where('tier', '=', from).executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) throw new RbError('RB_ERR_CONFLICT', 'escalated already');
        await db.insertInto('work_order_steps').values({ id: `${id}-${at}-${to}`, order_id: id, at, action: 'escalated', actor: 'system', tier: to, note: change.note ?? null }).execute();
        return (await this.get(id))!;
      }
      throw new Error('not in this test');
    },
  };
}

describe('deadline sweep', () => {
  let dir: string;
  let hub: HubDatabase;
  let clock: number;
  let pushed: Array<{ to: string; event: string; data: unknown }>;
  let owned: boolean;
  const config = OrderDeadlinesConfig.parse({ deadlines: { default: { grid: '2h', community: '4h', street: '8h' } } });
  const deadlineFor = deadlinesFrom(config);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rb-orders-sweep-'));
    hub = await openDatabase({ file: join(dir, 'hub.db'), log });
    clock = Date.UTC(2026, 11, 7, 1, 0);
    pushed = [];
    owned = true;
  });
  afterEach(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const build = (orders: ReturnType<typeof inTestOrders>) => {
    const ownership: Ownership = { clustered: false, owns: () => owned, owned: () => new Map(), fence: async () => undefined, listen: () => undefined };
    return createDeadlineSweep({
      db: hub,
      orders,
      everyMs: 60_000,
      ownership,
      push: {
        toEstate: (estate, event, data) => void pushed.push({ to: `estate:${estate}`, event, data }),
        toUser: (userId, _role, event, data) => void pushed.push({ to: `user:${userId}`, event, data }),
      },
      people: { onDuty: () => [USERS[0]!], users: () => USERS, estate: (id) => (id === 'e1' ? { id, grid: 'g1', street: 's1' } : undefined) },
      metrics: new MetricsRegistry(),
      log,
      now: () => clock,
    });
  };

  it('deadlines come from the config per category and tier, with the default for the rest', () => {
    const urgent = deadlinesFrom(OrderDeadlinesConfig.parse({}));
    expect(urgent('hazard', 'grid', 0)).toBe(4 * H);
    expect(urgent('repair', 'grid', 0)).toBe(24 * H);
    expect(urgent('repair', 'street', 10)).toBe(10 + 72 * H);
    expect([nextTier('grid'), nextTier('community'), nextTier('street')]).toEqual(['community', 'street', null]);
  });

  it('the hub config refuses a department whose contact names no configured channel, and bad durations, by key path', () => {
    const bad = () => resolveHubConfig({ orders: { departments: [{ id: 'chengguan', name: { zh: '城管', en: 'City management' }, contact: { channel: 'nope' } }] } }, {});
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/orders\.departments\[0\]\.contact\.channel: no channel "nope" in notify\.channels/);
    expect(() => resolveHubConfig({ orders: { deadlines: { hazard: { grid: 'soon' } } } }, {})).toThrow(/orders\.deadlines\.hazard\.grid/);
    const env = resolveHubConfig({}, { RB_ORDERS_DEADLINES_REPAIR_GRID: '90m', RB_ORDERS_WHISTLE_CHECK_IN_WITHIN: '30m' });
    expect(deadlinesFrom(env.orders)('repair', 'grid', 0)).toBe(90 * 60_000);
    expect(env.orders.whistle.checkInWithin).toBe('30m');
    expect(env.orders.departments.map((d) => d.name.zh)).toEqual(['城管', '派出所', '市场监管', '消防']);
  });

  it('who each tier reaches: on duty and the grid; the center of the estate or grid; the street', () => {
    const people = { onDuty: () => [USERS[0]!], users: () => USERS, estate: () => ({ id: 'e1', grid: 'g1', street: 's1' }) };
    const ids = (t: OrderTier) => tierRecipients(people, t, 'e1', 0).map((u) => u.id);
    expect(ids('grid')).toEqual(['grid-patrol', 'vol-on']);
    expect(ids('community')).toEqual(['comm-center', 'grid-center']);
    expect(ids('street')).toEqual(['street-admin', 'street-center']);
  });

  it('an order left alone moves to the community, then the street, each level told; at the street it stays', async () => {
    const orders = inTestOrders(hub, deadlineFor, () => clock);
    const sweep = build(orders);
    await orders.add('o1', clock);
    expect(await sweep.sweep()).toEqual({ escalated: 0 });

    clock += 2 * H + 1;
    expect((await sweep.sweep()).escalated).toBe(1);
    let o = (await orders.get('o1', { steps: true }))!;
    expect(o.tier).toBe('community');
    expect(o.deadlineAt).toBe(clock + 4 * H);
    expect(o.steps!.map((s) => [s.action, s.actor, s.tier])).toEqual([['escalated', 'system', 'community']]);
    const told = (tier: string) => pushed.filter((p) => p.event === 'order:notify' && (p.data as { tier: string }).tier === tier).map((p) => p.to).sort();
    expect(told('community')).toEqual(['user:comm-center', 'user:grid-center']);
    const notice = pushed.find((p) => p.event === 'order:notify')!.data as { order: WorkOrderView };
    expect(notice.order.phone).toBe('138****5678');

    clock += 4 * H + 1;
    expect((await sweep.sweep()).escalated).toBe(1);
    o = (await orders.get('o1', { steps: true }))!;
    expect(o.tier).toBe('street');
    expect(told('street')).toEqual(['user:street-admin', 'user:street-center']);
    expect(pushed.some((p) => p.to === 'user:other-street')).toBe(false);

    clock += 8 * H + 1;
    expect((await sweep.sweep()).escalated).toBe(0);
    o = (await orders.get('o1', { steps: true }))!;
    expect(o.tier).toBe('street');
    expect(o.steps).toHaveLength(2);
  });

  it('two sweepers at once move an order one tier, not two; another node\'s estate is left alone; a restart resumes', async () => {
    const orders = inTestOrders(hub, deadlineFor, () => clock);
    await orders.add('o2', clock);
    owned = false;
    clock += 2 * H + 1;
    expect((await build(orders).sweep()).escalated).toBe(0);
    owned = true;
    const [a, b] = await Promise.all([build(orders).sweep(), build(orders).sweep()]);
    expect(a.escalated + b.escalated).toBe(1);
    const o = (await orders.get('o2'))!;
    expect(o.tier).toBe('community');
    const steps = await hub.db.selectFrom('work_order_steps').selectAll().where('order_id', '=', 'o2').execute();
    expect(steps).toHaveLength(1);
    // A new sweeper (after a restart) reads the state from the table: the community's deadline, not the grid's.
    clock += 1 * H;
    expect((await build(orders).sweep()).escalated).toBe(0);
  });
});
