import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../protocol/live.js';
import type { WorkOrderView } from '../../../protocol/work-orders.js';
import { startTestHub, waitFor, type TestHub } from '../../support/hub.js';
import { usePostgres } from '../../support/postgres.js';
import { startRedis, type Redis } from '../../support/redis.js';

/**
 * Work orders in a hub cluster (docs/work-orders.md "Orders", Cluster): two hub nodes on one real
 * PostgreSQL and one redis-server. Any node writes orders, whoever owns the estate's partition: an
 * order created on node A is live on a socket of node B, changed through B, and read back on A;
 * orders created on both nodes at once get distinct numbers; two changes racing through different
 * nodes: one wins, the other is a 409.
 */
const pgServer = usePostgres();
let redis: Redis;
const nodes: TestHub[] = [];
const sockets: Socket[] = [];
let token = '';

async function call(node: TestHub, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(node.httpUrl + path, {
    method,
    signal: AbortSignal.timeout(15_000),
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
const intake = (description: string) => ({ estate: 'maple', source: 'phone', category: 'repair', description });

beforeAll(async () => {
  redis = await startRedis();
  const url = await pgServer().createDatabase(`orders_cluster_${process.pid}`);
  for (const nodeId of ['node-a', 'node-b']) nodes.push(await startTestHub({ config: { db: { url }, cluster: { nodeId, redisUrl: redis.url, leaseTtl: '3s' } } }));
  const [a, b] = nodes as [TestHub, TestHub];
  await a.hub.registry.addEstate('maple', { name: '枫林苑' });
  token = (await a.addUser({ name: 'cen', role: 'center', scopes: ['estate:maple'], displayName: '陈主任' })).token;
  // Node B learns of the estate and the user from the database (its change feed).
  expect(await waitFor(async () => b.hub.registry.getEstate('maple') !== undefined && (await call(b, 'GET', '/api/v1/work-orders?estate=maple')).status === 200, 15_000)).toBe(true);
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  for (const n of nodes.reverse()) await n.stop();
  await redis?.stop();
});

describe('work orders across hub nodes', () => {
  it('created on A: live on a socket of B, changed through B, read back on A', async () => {
    const [a, b] = nodes as [TestHub, TestHub];
    const got: Array<{ event: string; data: WorkOrderView }> = [];
    const s = ioClient(b.httpUrl, { auth: { token, estates: ['maple'] }, transports: ['websocket'] });
    sockets.push(s);
    for (const event of ['order:new', 'order:update']) s.on(event, (m: Envelope<WorkOrderView>) => void got.push({ event, data: m.data }));
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    });
    const created = await call(a, 'POST', '/api/v1/work-orders', intake('电梯困人'));
    expect(created.status).toBe(201);
    const id = (created.json as unknown as WorkOrderView).id;
    expect(await waitFor(() => got.some((g) => g.event === 'order:new' && g.data.id === id), 15_000)).toBe(true);
    expect((await call(b, 'POST', `/api/v1/work-orders/${id}/actions`, { action: 'start' })).json).toMatchObject({ state: 'in_progress' });
    expect(await waitFor(() => got.some((g) => g.event === 'order:update' && g.data.id === id && g.data.state === 'in_progress'), 15_000)).toBe(true);
    expect((await call(a, 'GET', `/api/v1/work-orders/${id}`)).json).toMatchObject({ state: 'in_progress', steps: [{ action: 'created' }, { action: 'started' }] });
  });

  it('orders created on both nodes at once get distinct numbers; racing changes through both nodes: one wins, one is 409', async () => {
    const [a, b] = nodes as [TestHub, TestHub];
    const made = await Promise.all(Array.from({ length: 16 }, (_, i) => call(i % 2 ? b : a, 'POST', '/api/v1/work-orders', intake(`第${i}单`))));
    expect(made.map((m) => m.status)).toEqual(Array(16).fill(201));
    const nos = made.map((m) => (m.json as unknown as WorkOrderView).no);
    expect(new Set(nos).size).toBe(16);
    const id = (made[0]!.json as unknown as WorkOrderView).id;
    const race = await Promise.all([call(a, 'POST', `/api/v1/work-orders/${id}/actions`, { action: 'resolve' }), call(b, 'POST', `/api/v1/work-orders/${id}/actions`, { action: 'resolve' })]);
    expect(race.map((r) => r.status).sort()).toEqual([200, 409]);
    expect((await call(b, 'GET', `/api/v1/work-orders/${id}`)).json.steps).toHaveLength(2);
  });
});
