import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { LiveOutbox } from '../../../hub/push/push.js';
import { createAudit, type Audit } from '../../../hub/audit.js';
import { createAutoClose } from '../../../hub/orders/autoclose.js';
import { createWorkOrders, followHash, type WorkOrdersService } from '../../../hub/orders/service.js';
import type { OrderActor, OrderChange, TransactionOutbox } from '../../../hub/orders/types.js';
import type { DeadlineFor } from '../../../hub/orders/transitions.js';
import type { OrderState } from '../../../protocol/work-orders.js';
import { silent, type DatabaseFactory, type DatabaseUnderTest } from '../platform/support.js';

/**
 * The work-order service (hub/orders/service.ts) on a real hub database, run on every engine: the
 * state machine (every action from every state, allowed or refused), numbers from the per-day counter,
 * idempotent 12345 numbers, the resident's one reopen, tiers, steps, audit rows, paging and the backlog.
 */
const HOUR = 3_600_000;
/** 2026-12-07 09:00 in Asia/Shanghai. */
const T0 = Date.UTC(2026, 11, 7, 1, 0, 0);
const staff: OrderActor = { kind: 'user', id: 'u-vol' };
const center: OrderActor = { kind: 'user', id: 'u-cen' };
const resident: OrderActor = { kind: 'resident' };
/** Hours per tier chosen so that a wrong tier shows in the deadline. */
const deadlineFor: DeadlineFor = (category, tier, from) => from + (category === 'hazard' ? 1 : { grid: 2, community: 5, street: 11 }[tier]) * HOUR;

const ACTIONS: OrderChange[] = [
  { action: 'assign', user: 'u-vol' },
  { action: 'start' },
  { action: 'resolve', note: 'fixed' },
  { action: 'close' },
  { action: 'reopen' },
  { action: 'note', note: 'called back' },
  { action: 'escalate' },
  { action: 'rate', rating: 'satisfied' },
];
/** The machine of docs/work-orders.md, written out (not derived from the code under test). */
const ALLOWED: Record<OrderState, string[]> = {
  new: ['assign', 'start', 'resolve', 'note', 'escalate'],
  assigned: ['assign', 'start', 'resolve', 'note', 'escalate'],
  in_progress: ['assign', 'resolve', 'note', 'escalate'],
  resolved: ['close', 'reopen', 'rate'],
  closed: ['reopen'],
  reopened: ['assign', 'start', 'resolve', 'note', 'escalate'],
};
/** How to bring a new order into each state. */
const PATH: Record<OrderState, OrderChange[]> = {
  new: [],
  assigned: [{ action: 'assign', user: 'u-vol' }],
  in_progress: [{ action: 'start' }],
  resolved: [{ action: 'resolve' }],
  closed: [{ action: 'resolve' }, { action: 'close' }],
  reopened: [{ action: 'resolve' }, { action: 'reopen' }],
};

export function describeWorkOrders(engine: string, factory: DatabaseFactory): void {
  describe(`work-order service on ${engine}`, () => {
    let t: DatabaseUnderTest;
    let audit: Audit;
    let orders: WorkOrdersService;
    let clock: number;
    const announced: Array<[string, string]> = [];
    beforeEach(async () => {
      t = await factory();
      clock = T0;
      audit = createAudit({ db: t.db, log: silent, now: () => clock });
      orders = createWorkOrders({ db: t.db, audit, deadlineFor, timeZone: 'Asia/Shanghai', log: silent, now: () => clock });
      announced.length = 0;
      orders.onChange((o, action) => void announced.push([o.no, action]));
    });
    afterEach(async () => {
      await t.cleanup();
    });

    const make = async (over: Partial<Parameters<WorkOrdersService['create']>[0]> = {}) =>
      (await orders.create({ estate: 'maple', source: 'phone', category: 'repair', description: '3号楼电梯不动了', phone: '13812345678', ...over }, staff)).order;

    it('numbers orders per local day, sets the tier deadline, writes the created step and its audit row', async () => {
      const a = await make();
      const b = await make({ category: 'hazard' });
      expect(a).toMatchObject({ no: 'GD20261207-0001', state: 'new', tier: 'grid', deadlineAt: T0 + 2 * HOUR, overdue: false, title: '报修：3号楼电梯不动了', phone: '138****5678', reopenCount: 0 });
      expect(b).toMatchObject({ no: 'GD20261207-0002', deadlineAt: T0 + HOUR });
      clock = Date.UTC(2026, 11, 7, 16, 30); // 00:30 on the 8th in Shanghai: a new day, a new counter
      expect((await make()).no).toBe('GD20261208-0001');
      const full = await orders.get(a.id, { steps: true });
      expect(full?.steps).toEqual([expect.objectContaining({ action: 'created', actor: 'user:u-vol', toState: 'new', tier: 'grid', photos: [] })]);
      const entries = (await audit.query({ action: 'order.create' })).items;
      expect(entries).toHaveLength(3);
      expect(entries[2]).toMatchObject({ actor: 'user:u-vol', estate: 'maple', target: a.id, detail: { no: a.no, source: 'phone', category: 'repair' } });
      expect(announced.map(([, action]) => action)).toEqual(['created', 'created', 'created']);
    });

    it('draws distinct numbers for orders created at once', async () => {
      const made = await Promise.all(Array.from({ length: 12 }, () => make()));
      expect(new Set(made.map((o) => o.no)).size).toBe(12);
      expect(made.map((o) => o.no).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `GD20261207-${String(i + 1).padStart(4, '0')}`));
    });

    it('allows exactly the transitions of the state machine from every state, and refuses the rest with a clear conflict', async () => {
      for (const state of Object.keys(ALLOWED) as OrderState[]) {
        for (const change of ACTIONS) {
          const o = await make();
          for (const step of PATH[state]) await orders.change(o.id, step, center);
          expect((await orders.get(o.id))?.state).toBe(state);
          const attempt = orders.change(o.id, change, center);
          if (ALLOWED[state].includes(change.action)) await expect(attempt, `${change.action} from ${state}`).resolves.toMatchObject({ id: o.id });
          else {
            await expect(attempt, `${change.action} from ${state}`).rejects.toMatchObject({ code: 'RB_ERR_CONFLICT', message: expect.stringContaining(state) });
            expect((await orders.get(o.id))?.state).toBe(state);
          }
        }
      }
    });

    it('walks new → assigned → in_progress → resolved → closed with a step and an audit row per transition', async () => {
      const o = await make();
      clock += 1000;
      expect(await orders.change(o.id, { action: 'assign', user: 'u-vol', note: '请王师傅去看' }, center)).toMatchObject({ state: 'assigned', assigneeUser: 'u-vol' });
      clock += 1000;
      expect(await orders.change(o.id, { action: 'start' }, staff)).toMatchObject({ state: 'in_progress' });
      clock += 1000;
      const photo = { contentType: 'image/jpeg' as const, data: Buffer.from([0xff, 0xd8, 0xff, 0xd9]) };
      const resolved = await orders.change(o.id, { action: 'resolve', note: '换了继电器', photos: [photo] }, staff);
      expect(resolved).toMatchObject({ state: 'resolved', resolvedAt: clock, deadlineAt: null, overdue: false });
      clock += 1000;
      expect(await orders.change(o.id, { action: 'close' }, center)).toMatchObject({ state: 'closed', closedAt: clock });
      const full = await orders.get(o.id, { steps: true });
      expect(full?.steps?.map((s) => [s.action, s.fromState ?? null, s.toState, s.actor, s.note ?? null])).toEqual([
        ['created', null, 'new', 'user:u-vol', null],
        ['assigned', 'new', 'assigned', 'user:u-cen', '请王师傅去看'],
        ['started', 'assigned', 'in_progress', 'user:u-vol', null],
        ['resolved', 'in_progress', 'resolved', 'user:u-vol', '换了继电器'],
        ['closed', 'resolved', 'closed', 'user:u-cen', null],
      ]);
      const resolveStep = full!.steps![3]!;
      expect(resolveStep.photos).toEqual([{ id: expect.any(String), url: `/api/v1/work-orders/${o.id}/photos/${resolveStep.photos[0]!.id}`, contentType: 'image/jpeg', bytes: 4 }]);
      expect(await orders.photo(o.id, resolveStep.photos[0]!.id)).toEqual({ contentType: 'image/jpeg', data: photo.data });
      expect(await orders.photo('01JZZZZZZZZZZZZZZZZZZZZZZZ', resolveStep.photos[0]!.id)).toBeUndefined();
      const trail = (await audit.query({ estate: 'maple' })).items.reverse().map((e) => [e.action, e.detail?.from ?? null, e.detail?.to ?? null]);
      expect(trail).toEqual([
        ['order.create', null, null],
        ['order.assign', 'new', 'assigned'],
        ['order.start', 'assigned', 'in_progress'],
        ['order.resolve', 'in_progress', 'resolved'],
        ['order.close', 'resolved', 'closed'],
      ]);
      expect(announced.map(([, a]) => a)).toEqual(['created', 'assign', 'start', 'resolve', 'close']);
    });

    it('a start on an order nobody holds gives it to whoever starts it; two starts at once: one wins, one conflicts', async () => {
      const o = await make();
      const both = await Promise.allSettled([orders.change(o.id, { action: 'start' }, staff), orders.change(o.id, { action: 'start' }, center)]);
      expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(both.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'RB_ERR_CONFLICT' } });
      const after = await orders.get(o.id, { steps: true });
      expect(after?.steps?.filter((s) => s.action === 'started')).toHaveLength(1);
      expect(after?.assigneeUser).toBe(both[0]!.status === 'fulfilled' ? 'u-vol' : 'u-cen');
    });

    it('escalates grid → community → street with each tier\'s deadline, and refuses above the street', async () => {
      const o = await make();
      clock += HOUR;
      expect(await orders.change(o.id, { action: 'escalate', note: 'no answer' }, { kind: 'system' })).toMatchObject({ tier: 'community', deadlineAt: clock + 5 * HOUR, state: 'new' });
      clock += HOUR;
      expect(await orders.change(o.id, { action: 'escalate' }, center)).toMatchObject({ tier: 'street', deadlineAt: clock + 11 * HOUR });
      await expect(orders.change(o.id, { action: 'escalate' }, center)).rejects.toMatchObject({ code: 'RB_ERR_CONFLICT', message: expect.stringMatching(/street tier already/) });
      // A sweep that read the order while it was in the grid must not move it on again.
      const p = await make();
      const sweeps = await Promise.allSettled([0, 1].map(() => orders.change(p.id, { action: 'escalate', fromTier: 'grid' }, { kind: 'system' })));
      expect(sweeps.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      // The loser read the order either after the winner's commit (its tier moved) or before it (the
      // row changed under it): a conflict either way, with the reason it saw.
      expect(sweeps.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'RB_ERR_CONFLICT', message: expect.stringMatching(/community tier now, not grid|changed by someone else meanwhile/) } });
      expect((await orders.get(p.id))?.tier).toBe('community');
      expect((await orders.get(o.id, { steps: true }))?.steps?.map((s) => [s.action, s.tier, s.actor])).toEqual([
        ['created', 'grid', 'user:u-vol'],
        ['escalated', 'community', 'system'],
        ['escalated', 'street', 'user:u-cen'],
      ]);
    });

    it('a resident rates: satisfied closes; unsatisfied reopens once, then the rating stands and a second reopen is refused', async () => {
      const { order, followToken } = await orders.create({ estate: 'maple', source: 'resident', category: 'noise', description: '楼上装修太吵' }, resident);
      expect(followToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect((await orders.byFollowToken(followToken!))?.id).toBe(order.id);
      expect(await orders.byFollowToken(`${followToken!.slice(0, -1)}x`)).toBeUndefined();
      // Only the hash is kept.
      const row = await t.db.db.selectFrom('work_orders').select('follow_hash').where('id', '=', order.id).executeTakeFirstOrThrow();
      expect(row.follow_hash).toBe(followHash(followToken!));
      expect(row.follow_hash).not.toContain(followToken!);

      await expect(orders.change(order.id, { action: 'rate', rating: 'satisfied' }, resident)).rejects.toMatchObject({ code: 'RB_ERR_CONFLICT' });
      await orders.change(order.id, { action: 'resolve' }, staff);
      clock += HOUR;
      expect(await orders.change(order.id, { action: 'rate', rating: 'unsatisfied', note: '还是吵' }, resident)).toMatchObject({ state: 'reopened', rating: 'unsatisfied', reopenCount: 1, resolvedAt: null, deadlineAt: clock + 2 * HOUR });
      await orders.change(order.id, { action: 'resolve' }, staff);
      expect(await orders.change(order.id, { action: 'rate', rating: 'unsatisfied' }, resident)).toMatchObject({ state: 'resolved', rating: 'unsatisfied', reopenCount: 1 });
      await expect(orders.change(order.id, { action: 'reopen' }, resident)).rejects.toMatchObject({ code: 'RB_ERR_CONFLICT', message: expect.stringMatching(/only once/) });
      // Staff may reopen any time.
      expect(await orders.change(order.id, { action: 'reopen' }, center)).toMatchObject({ state: 'reopened', reopenCount: 1 });
      await orders.change(order.id, { action: 'resolve' }, staff);
      expect(await orders.change(order.id, { action: 'rate', rating: 'basically' }, resident)).toMatchObject({ state: 'closed', rating: 'basically' });
      expect((await orders.create({ estate: 'maple', source: 'phone', category: 'noise', description: 'x' }, staff)).followToken).toBeUndefined();
    });

    it('records steps that are no transition (whistle, check-in) with their audit row, in any state', async () => {
      const o = await make();
      await orders.change(o.id, { action: 'resolve' }, staff);
      clock += 5000;
      const v = await orders.recordStep(o.id, { action: 'checked_in', note: '城管已到场', detail: { whistle: 'w1' } }, { kind: 'department', id: 'chengguan' });
      expect(v).toMatchObject({ state: 'resolved', updatedAt: clock });
      expect((await orders.get(o.id, { steps: true }))?.steps?.at(-1)).toMatchObject({ action: 'checked_in', actor: 'department:chengguan', fromState: 'resolved', toState: 'resolved', note: '城管已到场' });
      expect((await audit.query({ action: 'order.checked_in' })).items[0]).toMatchObject({ actor: 'department:chengguan', target: o.id, detail: { no: o.no, whistle: 'w1' } });
      await expect(orders.recordStep('01JZZZZZZZZZZZZZZZZZZZZZZZ', { action: 'whistled' }, center)).rejects.toMatchObject({ code: 'RB_ERR_NOT_FOUND' });
    });

    it('creates in a caller\'s transaction: rolled back with it, nothing left behind', async () => {
      await expect(
        t.db.transaction(async (trx) => {
          await orders.create({ estate: 'maple', source: 'hotline', category: 'repair', description: 'x', externalNo: 'rolled-back' }, { kind: 'system' }, { trx });
          throw new Error('the import failed after it');
        }),
      ).rejects.toThrow('the import failed after it');
      expect((await orders.list({})).items).toEqual([]);
      expect((await audit.query({})).items).toEqual([]);
      // With the caller's push outbox, the message goes into it (sent after that COMMIT by push).
      const logged: Array<[string, string, string]> = [];
      const out: TransactionOutbox = { toEstate: async (estate, event, data) => void logged.push([estate, event, data.no]) };
      expectTypeOf<LiveOutbox>().toExtend<TransactionOutbox>();
      const kept = await t.db.transaction((trx) => orders.create({ estate: 'maple', source: 'hotline', category: 'repair', description: 'x', externalNo: 'kept' }, { kind: 'system' }, { trx, out }));
      expect((await orders.get(kept.order.id))?.externalNo).toBe('kept');
      await t.db.transaction((trx) => orders.recordStep(kept.order.id, { action: 'whistled' }, center, { trx, out }));
      expect(logged).toEqual([
        ['maple', 'order:new', kept.order.no],
        ['maple', 'order:update', kept.order.no],
      ]);
    });

    it('closes resolved orders nobody rated once orders.autoCloseAfter has passed, as system, once', async () => {
      const autoClose = createAutoClose({ db: t.db, orders, afterMs: 72 * HOUR, log: silent, now: () => clock });
      const [quiet, rated, open] = [await make(), await make(), await make()];
      await orders.change(quiet.id, { action: 'resolve' }, staff);
      await orders.change(rated.id, { action: 'resolve' }, staff);
      await orders.change(rated.id, { action: 'rate', rating: 'unsatisfied' }, center);
      clock += 72 * HOUR - 1;
      expect(await autoClose.sweep()).toBe(0);
      clock += 1;
      expect(await autoClose.sweep()).toBe(1);
      expect(await autoClose.sweep()).toBe(0);
      expect(await orders.get(quiet.id, { steps: true })).toMatchObject({ state: 'closed', closedAt: clock, steps: expect.arrayContaining([expect.objectContaining({ action: 'closed', actor: 'system', note: 'auto' })]) });
      // Rated 不满意 by staff: waits for a person; open orders are not touched.
      expect((await orders.get(rated.id))?.state).toBe('resolved');
      expect((await orders.get(open.id))?.state).toBe('new');
    });

    it('a 12345 number creates one order however often and however concurrently it comes', async () => {
      const first = await orders.create({ estate: 'maple', source: 'hotline', category: 'sanitation', description: '垃圾未清运', externalNo: '12345-2026-0001' }, { kind: 'system' });
      const again = await orders.create({ estate: 'maple', source: 'hotline', category: 'sanitation', description: '垃圾未清运', externalNo: '12345-2026-0001' }, { kind: 'system' });
      expect(first.created).toBe(true);
      expect(again).toMatchObject({ created: false, order: { id: first.order.id, externalNo: '12345-2026-0001' } });
      const racing = await Promise.all(
        Array.from({ length: 6 }, () => orders.create({ estate: 'maple', source: 'hotline', category: 'repair', description: 'x', externalNo: '12345-2026-0002' }, { kind: 'system' })),
      );
      expect(racing.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(racing.map((r) => r.order.id)).size).toBe(1);
      expect((await orders.list({ source: 'hotline' })).items).toHaveLength(2);
    });

    it('lists newest first in cursor pages, filtered by estates, state, tier, source, category and overdue; and counts the backlog', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        clock = T0 + i * 1000;
        ids.push((await make({ estate: i % 2 ? 'elm' : 'maple', category: i === 3 ? 'hazard' : 'repair' })).id);
      }
      const p1 = await orders.list({ limit: 3 });
      expect(p1.items.map((o) => o.id)).toEqual([ids[6], ids[5], ids[4]]);
      const p2 = await orders.list({ limit: 3, cursor: p1.nextCursor });
      const p3 = await orders.list({ limit: 3, cursor: p2.nextCursor });
      expect([...p2.items, ...p3.items].map((o) => o.id)).toEqual([ids[3], ids[2], ids[1], ids[0]]);
      expect(p3.nextCursor).toBeUndefined();
      await expect(orders.list({ cursor: 'nonsense' })).rejects.toMatchObject({ code: 'RB_ERR_BAD_QUERY', message: expect.stringContaining('cursor') });
      expect((await orders.list({ estates: ['elm'] })).items.map((o) => o.id)).toEqual([ids[5], ids[3], ids[1]]);
      expect((await orders.list({ estates: [] })).items).toEqual([]);
      expect((await orders.list({ category: 'hazard' })).items.map((o) => o.id)).toEqual([ids[3]]);
      await orders.change(ids[0]!, { action: 'resolve' }, staff);
      await orders.change(ids[2]!, { action: 'escalate' }, staff);
      expect((await orders.list({ states: ['resolved'] })).items.map((o) => o.id)).toEqual([ids[0]]);
      expect((await orders.list({ tier: 'community' })).items.map((o) => o.id)).toEqual([ids[2]]);
      // 1 h 30 min later: the hazard (1 h) is overdue; the repairs (2 h) and the escalated one (5 h) are not.
      clock = T0 + 1.5 * HOUR;
      expect((await orders.list({ overdue: true })).items.map((o) => [o.id, o.overdue])).toEqual([[ids[3], true]]);
      expect((await orders.list({ overdue: false })).items).toHaveLength(6);
      expect(await orders.backlog(['maple', 'elm', 'oak'])).toEqual([
        { estate: 'elm', open: 3, overdue: 1, byTier: { grid: 3, community: 0, street: 0 } },
        { estate: 'maple', open: 3, overdue: 0, byTier: { grid: 2, community: 1, street: 0 } },
        { estate: 'oak', open: 0, overdue: 0, byTier: { grid: 0, community: 0, street: 0 } },
      ]);
    });
  });
}
