import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubDatabase } from '../../../hub/platform/db/index.js';
import { startTestHub, type TestHub } from '../../support/hub.js';

/**
 * Tiers and deadlines on a real hub (issue 19 "Must show"): an order left alone passes its deadline
 * (the hub's order clock moved forward, not slept) and moves to the community, then to the street;
 * each level's people get an `order:notify` in their own push scope (read back from the push log),
 * nobody else does; at the street it stays and counts as overdue.
 */
const H = 3_600_000;

describe('deadlines and tiers (real hub)', () => {
  let t: TestHub;
  let db: HubDatabase;
  let offset = 0;
  const ids: Record<string, string> = {};
  let orderId: string;

  beforeAll(async () => {
    t = await startTestHub({
      ordersNow: () => Date.now() + offset,
      config: { orders: { deadlines: { default: { grid: '1h', community: '2h', street: '4h' } } } },
    });
    await t.hub.registry.addStreet('s1');
    await t.hub.registry.addStreet('s2');
    await t.hub.registry.addGrid('g1', { street: 's1' });
    await t.hub.registry.addEstate('e1', { street: 's1', grid: 'g1', name: '幸福里' });
    for (const [name, role, scope] of [
      ['gridder', 'patrol', 'grid:g1'],
      ['community', 'center', 'estate:e1'],
      ['street', 'center', 'street:s1'],
      ['elsewhere', 'center', 'street:s2'],
    ] as const) {
      ids[name] = (await t.addUser({ name, role, scopes: [scope] })).id;
    }
    const imported = await t.api('POST', '/api/v1/work-orders/import', { body: [{ externalNo: 'D-1', estate: 'e1', category: 'repair', description: '路灯不亮', phone: '13812345678' }] });
    orderId = (imported.json.items as Array<{ id: string }>)[0]!.id;
    db = await t.openDatabase();
  });
  afterAll(async () => {
    await db?.close();
    await t?.stop();
  });

  const order = async () => {
    const r = await t.api('GET', `/api/v1/work-orders/${orderId}`);
    expect(r.status).toBe(200);
    return ((r.json.order as Record<string, unknown> | undefined) ?? r.json) as { tier: string; deadlineAt: number; steps: Array<{ action: string; actor: string; tier?: string }> };
  };
  /** Who got an `order:notify` for this order at `tier`, by user name. */
  const told = async (tier: string): Promise<string[]> => {
    const rows = await db.db.selectFrom('push_log').select(['scope', 'data']).where('event', '=', 'order:notify').execute();
    const names = Object.fromEntries(Object.entries(ids).map(([n, id]) => [`user:${id}`, n]));
    return rows
      .filter((r) => {
        const d = JSON.parse(r.data) as { tier: string; order: { id: string; phone?: string } };
        return d.tier === tier && d.order.id === orderId;
      })
      .map((r) => names[r.scope] ?? r.scope)
      .sort();
  };

  it('starts at the grid with the grid deadline', async () => {
    const o = await order();
    expect(o.tier).toBe('grid');
    expect(o.deadlineAt).toBeGreaterThan(Date.now() + H - 60_000);
    expect(o.deadlineAt).toBeLessThanOrEqual(Date.now() + H);
    expect((await t.hub.orderTiers.sweep.sweep()).escalated).toBe(0);
  });

  it('left alone past the grid deadline it moves to the community, and the community is told', async () => {
    offset += H + 1000;
    expect((await t.hub.orderTiers.sweep.sweep()).escalated).toBe(1);
    const o = await order();
    expect(o.tier).toBe('community');
    expect(o.steps.filter((s) => s.action === 'escalated').map((s) => [s.actor, s.tier])).toEqual([['system', 'community']]);
    await expect.poll(() => told('community')).toEqual(['community']);
  });

  it('then to the street, and the street is told; nobody of another street', async () => {
    offset += 2 * H + 1000;
    expect((await t.hub.orderTiers.sweep.sweep()).escalated).toBe(1);
    expect((await order()).tier).toBe('street');
    await expect.poll(() => told('street')).toEqual(['street']);
    const everyone = await db.db.selectFrom('push_log').select(['scope', 'data']).where('event', '=', 'order:notify').execute();
    expect(everyone.map((r) => r.scope)).not.toContain(`user:${ids.elsewhere}`);
    expect(everyone.map((r) => r.scope)).not.toContain(`user:${ids.gridder}`);
    expect(everyone.every((r) => (JSON.parse(r.data) as { order: { phone?: string } }).order.phone === '138****5678')).toBe(true);
  });

  it('past the street deadline it stays at the street, overdue and counted', async () => {
    offset += 4 * H + 1000;
    expect((await t.hub.orderTiers.sweep.sweep()).escalated).toBe(0);
    const o = await order();
    expect(o.tier).toBe('street');
    expect(o.steps.filter((s) => s.action === 'escalated')).toHaveLength(2);
    expect(await t.metric('rb_orders_overdue', { tier: 'street' })).toBe(1);
    expect(await t.metric('rb_orders_escalated_total')).toBe(2);
    const audit = await db.db.selectFrom('audit').select(['actor', 'target']).where('action', '=', 'order.escalate').execute();
    expect(audit).toEqual([{ actor: 'system', target: orderId }, { actor: 'system', target: orderId }]);
  });
});
