import sharp from 'sharp';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../../protocol/live.js';
import type { WorkOrderView } from '../../../protocol/work-orders.js';
import { startTestHub, waitFor, type TestHub } from '../../support/hub.js';

/**
 * The work-order REST API and its live push on a real hub (SQLite here; PostgreSQL in the PostgreSQL
 * pass): phone intake, scope (another estate's order is 404), actions with a real photo over
 * multipart (EXIF gone), bad photos refused, roles, the masked and the audited full phone, 转工单,
 * the backlog, and `order:new` / `order:update` on real Socket.IO clients.
 */
let t: TestHub;
const tok: Record<string, string> = {};
const ids: Record<string, string> = {};
const sockets: Socket[] = [];
const live: Record<string, Array<{ event: string; data: WorkOrderView }>> = { cen: [], vol: [] };

type Json = Record<string, unknown>;
async function call(method: string, path: string, who: string, body?: unknown): Promise<{ status: number; json: Json; headers: Headers }> {
  const res = await fetch(t.httpUrl + path, {
    method,
    signal: AbortSignal.timeout(10_000),
    headers: { authorization: `Bearer ${tok[who]}`, ...(body instanceof FormData || body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body instanceof FormData ? body : body === undefined ? undefined : JSON.stringify(body),
  });
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, json: type.includes('json') ? ((await res.json()) as Json) : {}, headers: res.headers };
}
const form = (fields: Record<string, string>, photos: Array<{ data: Buffer; name: string; type: string }> = []): FormData => {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.set(k, v);
  for (const p of photos) fd.append('photo', new Blob([p.data], { type: p.type }), p.name);
  return fd;
};
const intake = { estate: 'maple', source: 'phone', category: 'repair', description: '3号楼2单元电梯停在5楼不动', building: '3', unit: '2', phone: '138 1234 5678' };

async function connect(who: string): Promise<void> {
  const s = ioClient(t.httpUrl, { auth: { token: tok[who], estates: ['maple'] }, transports: ['websocket'] });
  for (const event of ['order:new', 'order:update']) s.on(event, (m: Envelope<WorkOrderView>) => void live[who]!.push({ event, data: m.data }));
  sockets.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', reject);
  });
}

beforeAll(async () => {
  t = await startTestHub({ config: { orders: { maxPhotoBytes: 64 * 1024 } } });
  const r = t.hub.registry;
  await r.addStreet('east');
  await r.addGrid('g1', { street: 'east' });
  await r.addEstate('maple', { grid: 'g1', name: '枫林苑' });
  await r.addEstate('elm', { street: 'east', name: '榆树湾' });
  for (const [name, role, scopes, displayName] of [
    ['vol', 'volunteer', ['estate:maple'], '王小明'],
    ['vol2', 'volunteer', ['estate:maple'], '李四'],
    ['volelm', 'volunteer', ['estate:elm'], '赵六'],
    ['cen', 'center', ['street:east'], '陈主任'],
  ] as const) {
    const u = await t.addUser({ name, role, scopes: [...scopes], displayName });
    tok[name] = u.token;
    ids[name] = u.id;
  }
  await connect('cen');
  await connect('vol');
}, 30_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await t?.stop();
});

describe('work orders over REST', () => {
  let order: WorkOrderView;

  it('来电登记: a volunteer registers a call; the phone is masked, the order is live on the center and the volunteer', async () => {
    const r = await call('POST', '/api/v1/work-orders', 'vol', intake);
    expect(r.status).toBe(201);
    order = r.json as unknown as WorkOrderView;
    expect(order).toMatchObject({ no: expect.stringMatching(/^GD\d{8}-0001$/), estate: 'maple', estateName: '枫林苑', source: 'phone', state: 'new', tier: 'grid', phone: '138****5678', building: '3', unit: '2', title: '报修：3号楼2单元电梯停在5楼不动' });
    expect(order.steps).toEqual([expect.objectContaining({ action: 'created', actor: `user:${ids.vol}`, toState: 'new' })]);
    expect(JSON.stringify(order)).not.toContain('12345678');
    expect(await waitFor(() => live.cen!.some((m) => m.event === 'order:new' && m.data.id === order.id))).toBe(true);
    expect(await waitFor(() => live.vol!.some((m) => m.event === 'order:new' && m.data.id === order.id))).toBe(true);
    expect(live.cen!.find((m) => m.data.id === order.id)!.data.phone).toBe('138****5678');
  });

  it('refuses bad input naming the field, and writes outside the scope', async () => {
    const bad = async (body: unknown, field: RegExp, who = 'vol', status = 400) => {
      const r = await call('POST', '/api/v1/work-orders', who, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect((r.json.error as { message: string }).message).toMatch(field);
    };
    await bad({ ...intake, description: undefined }, /^description: /);
    await bad({ ...intake, category: 'gossip' }, /^category: /);
    await bad({ ...intake, title: 'x'.repeat(121) }, /^title: at most 120 characters/);
    await bad({ ...intake, phone: '<script>alert(1)</script>' }, /^phone: a phone number/);
    await bad({ ...intake, source: 'resident' }, /^source: /);
    await bad({ ...intake, extra: 1 }, /extra/);
    await bad({ ...intake, estate: 'elm' }, /outside your scope/, 'vol', 403);
    await bad({ ...intake, estate: 'nowhere' }, /outside your scope/, 'vol', 403);
    const notJson = await fetch(`${t.httpUrl}/api/v1/work-orders`, { method: 'POST', headers: { authorization: `Bearer ${tok.vol}`, 'content-type': 'application/json' }, body: '{"estate":' });
    expect(notJson.status).toBe(400);
    // Script is text: stored and answered as given, in JSON, never as markup.
    const script = await call('POST', '/api/v1/work-orders', 'vol', { ...intake, phone: undefined, description: '<img src=x onerror=alert(1)>' });
    expect(script.status).toBe(201);
    expect(script.headers.get('content-type')).toMatch(/^application\/json/);
    expect((script.json as unknown as WorkOrderView).description).toBe('<img src=x onerror=alert(1)>');
  });

  it('an order of another estate answers 404, as an unknown one does; lists hold only estates in scope', async () => {
    const other = await call('GET', `/api/v1/work-orders/${order.id}`, 'volelm');
    const unknown = await call('GET', '/api/v1/work-orders/01JZZZZZZZZZZZZZZZZZZZZZZZ', 'volelm');
    expect([other.status, unknown.status]).toEqual([404, 404]);
    expect(other.json.error).toMatchObject({ code: 'RB_ERR_NOT_FOUND' });
    expect((await call('POST', `/api/v1/work-orders/${order.id}/actions`, 'volelm', { action: 'note', note: 'x' })).status).toBe(404);
    expect((await call('GET', `/api/v1/work-orders/${order.id}/phone`, 'volelm')).status).toBe(404);
    expect((await call('GET', '/api/v1/work-orders', 'volelm')).json.items).toEqual([]);
    expect((await call('GET', '/api/v1/work-orders?estate=maple', 'volelm')).status).toBe(403);
    const mine = await call('GET', '/api/v1/work-orders?state=new&limit=1', 'vol');
    expect(mine.json).toMatchObject({ items: [expect.objectContaining({ estate: 'maple', state: 'new' })], nextCursor: expect.any(String) });
    const next = await call('GET', `/api/v1/work-orders?state=new&limit=1&cursor=${mine.json.nextCursor as string}`, 'vol');
    expect((next.json.items as WorkOrderView[])[0]!.id).toBe(order.id);
    expect((await call('GET', '/api/v1/work-orders?state=open', 'vol')).json.error).toMatchObject({ code: 'RB_ERR_BAD_QUERY', message: expect.stringMatching(/^state\.0: /) });
    expect((await call('GET', `/api/v1/work-orders/${order.id}`, 'cen')).json).toMatchObject({ id: order.id, steps: [expect.anything()] });
  });

  it('a volunteer takes, starts and resolves with a note and a real photo; the kept photo has no EXIF and is served safely', async () => {
    const taken = await call('POST', `/api/v1/work-orders/${order.id}/actions`, 'vol', { action: 'assign', user: 'vol' });
    expect(taken.json).toMatchObject({ state: 'assigned', assigneeUser: ids.vol, assigneeName: '王**' });
    expect((await call('POST', `/api/v1/work-orders/${order.id}/actions`, 'vol', form({ action: 'start' }))).json).toMatchObject({ state: 'in_progress' });
    expect(((await call('GET', '/api/v1/work-orders?assignee=me', 'vol')).json.items as WorkOrderView[]).map((o) => o.id)).toEqual([order.id]);
    expect((await call('GET', '/api/v1/work-orders?assignee=me', 'vol2')).json.items).toEqual([]);
    const jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#c33' } })
      .jpeg()
      .withExif({ IFD0: { Artist: 'Resident Name', ImageDescription: 'home at 31.2304N 121.4737E' } })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).exif).toBeDefined();
    const r = await call('POST', `/api/v1/work-orders/${order.id}/actions`, 'vol', form({ action: 'resolve', note: '更换了门机继电器，运行正常' }, [{ data: jpeg, name: 'fix.jpg', type: 'image/jpeg' }]));
    expect(r.status).toBe(200);
    const resolved = r.json as unknown as WorkOrderView;
    expect(resolved).toMatchObject({ state: 'resolved', deadlineAt: null });
    const step = resolved.steps!.at(-1)!;
    expect(step).toMatchObject({ action: 'resolved', note: '更换了门机继电器，运行正常', photos: [expect.objectContaining({ contentType: 'image/jpeg' })] });
    const res = await fetch(t.httpUrl + step.photos[0]!.url, { headers: { authorization: `Bearer ${tok.vol}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'");
    const kept = Buffer.from(await res.arrayBuffer());
    const meta = await sharp(kept).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 640, height: 480 });
    expect(meta.exif).toBeUndefined();
    expect(kept.includes(Buffer.from('Resident Name'))).toBe(false);
    expect((await fetch(t.httpUrl + step.photos[0]!.url, { headers: { authorization: `Bearer ${tok.volelm}` } })).status).toBe(404);
    expect(await waitFor(() => live.cen!.some((m) => m.event === 'order:update' && m.data.id === order.id && m.data.state === 'resolved'))).toBe(true);
    // The masked room gets names reduced, as the REST view for volunteers does.
    expect(live.vol!.find((m) => m.event === 'order:update' && m.data.state === 'resolved')!.data.assigneeName).toBe('王**');
    expect(live.cen!.find((m) => m.event === 'order:update' && m.data.state === 'resolved')!.data.assigneeName).toBe('王小明');
  });

  it('refuses a non-image, too many photos and an oversized field with clear errors, and changes nothing', async () => {
    const o = (await call('POST', '/api/v1/work-orders', 'vol', intake)).json as unknown as WorkOrderView;
    const path = `/api/v1/work-orders/${o.id}/actions`;
    const text = await call('POST', path, 'vol', form({ action: 'note', note: 'see photo' }, [{ data: Buffer.from('<svg onload=alert(1)>'), name: 'x.jpg', type: 'image/jpeg' }]));
    expect(text.status).toBe(400);
    expect((text.json.error as { message: string }).message).toBe('photo 1: the file is not a photo (JPEG, PNG, WebP or HEIC)');
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer();
    const four = await call('POST', path, 'vol', form({ action: 'note', note: 'x' }, Array.from({ length: 4 }, () => ({ data: png, name: 'p.png', type: 'image/png' }))));
    expect(four.status).toBe(413);
    expect((four.json.error as { message: string }).message).toMatch(/at most 3 photos/);
    const big = await call('POST', path, 'vol', form({ action: 'note', note: 'x' }, [{ data: Buffer.alloc(100 * 1024, 7), name: 'big.jpg', type: 'image/jpeg' }]));
    expect(big.status).toBe(413);
    expect((big.json.error as { message: string }).message).toBe('photo 1 (photo, big.jpg): larger than 64 KiB (orders.maxPhotoBytes)');
    const long = await call('POST', path, 'vol', form({ action: 'note', note: '长'.repeat(3000) }));
    expect(long.status).toBe(413);
    expect((long.json.error as { message: string }).message).toMatch(/^note: longer than/);
    const tooLongChars = await call('POST', path, 'vol', { action: 'note', note: 'x'.repeat(2001) });
    expect((tooLongChars.json.error as { message: string }).message).toMatch(/^note: at most 2000 characters/);
    expect((await call('GET', `/api/v1/work-orders/${o.id}`, 'vol')).json.steps).toHaveLength(1);
  });

  it('roles: volunteers take orders for themselves only and cannot close; transitions the state does not allow are 409', async () => {
    const o = (await call('POST', '/api/v1/work-orders', 'cen', intake)).json as unknown as WorkOrderView;
    const act = (who: string, body: unknown) => call('POST', `/api/v1/work-orders/${o.id}/actions`, who, body);
    expect((await act('vol', { action: 'assign', user: 'vol2' })).status).toBe(403);
    expect((await act('vol', { action: 'assign', department: 'chengguan' })).status).toBe(403);
    expect((await act('vol', { action: 'escalate' })).status).toBe(403);
    expect((await act('cen', { action: 'assign', user: 'nobody' })).json.error).toMatchObject({ code: 'RB_ERR_UNKNOWN_USER' });
    expect((await act('cen', { action: 'assign', user: 'vol2' })).json).toMatchObject({ state: 'assigned', assigneeUser: ids.vol2, assigneeName: '李四' });
    expect((await act('vol', { action: 'close' })).status).toBe(403);
    const early = await act('cen', { action: 'close' });
    expect(early.status).toBe(409);
    expect(early.json.error).toMatchObject({ code: 'RB_ERR_CONFLICT', message: 'cannot close an order that is assigned: only a resolved order can be closed' });
    expect((await act('vol2', { action: 'resolve' })).json).toMatchObject({ state: 'resolved' });
    expect((await act('cen', { action: 'close', note: '回访确认' })).json).toMatchObject({ state: 'closed' });
    expect((await act('cen', { action: 'bless' })).json.error).toMatchObject({ code: 'RB_ERR_BAD_BODY', message: expect.stringMatching(/^action: /) });
  });

  it('the full phone number: refused to volunteers, shown to the center and audited', async () => {
    expect((await call('GET', `/api/v1/work-orders/${order.id}/phone`, 'vol')).status).toBe(403);
    const r = await call('GET', `/api/v1/work-orders/${order.id}/phone`, 'cen');
    expect(r.json).toEqual({ id: order.id, no: order.no, phone: '13812345678' });
    expect(r.headers.get('cache-control')).toBe('no-store');
    const audit = await t.hub.audit.query({ action: 'view.personal', actor: `user:${ids.cen}` });
    expect(audit.items[0]).toMatchObject({ estate: 'maple', target: `work-order:${order.id}`, detail: { no: order.no, field: 'phone' } });
    expect((await t.hub.audit.query({ action: 'order.resolve', estate: 'maple' })).items.length).toBeGreaterThan(0);
  });

  it('转工单: an alert in scope becomes one order titled by its rule; another estate\'s alert is 404', async () => {
    const raise = (estate: string) =>
      t.hub.alertStore.raise({ type: 'raise', rule: 'door.forced', estate, gateway: 'gw-1', device: 'gate-1', key: 'door:1', severity: 2, at: Date.now(), eventId: `ev-${estate}`, data: { door: 1 } });
    const mine = (await raise('maple')).alert;
    const theirs = (await raise('elm')).alert;
    const r = await call('POST', `/api/v1/work-orders/from-alert/${mine.id}`, 'vol', {});
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ created: true, order: { source: 'alert', alertId: mine.id, category: 'hazard', title: '门被强行打开（gate-1）', estate: 'maple' } });
    // No body at all is fine too.
    const again = await call('POST', `/api/v1/work-orders/from-alert/${mine.id}`, 'vol');
    expect(again).toMatchObject({ status: 200, json: { created: false, order: { id: (r.json.order as WorkOrderView).id } } });
    expect((await call('POST', `/api/v1/work-orders/from-alert/${theirs.id}`, 'vol', {})).status).toBe(404);
  });

  it('the backlog per estate in scope', async () => {
    const r = await call('GET', '/api/v1/work-orders/backlog', 'cen');
    const items = r.json.items as Array<{ estate: string; open: number; overdue: number; byTier: Record<string, number> }>;
    expect(items.map((b) => b.estate)).toEqual(['elm', 'maple']);
    expect(items[0]).toEqual({ estate: 'elm', open: 0, overdue: 0, byTier: { grid: 0, community: 0, street: 0 } });
    expect(items[1]!.open).toBe(((await call('GET', '/api/v1/work-orders?estate=maple&state=new,assigned,in_progress,reopened', 'cen')).json.items as unknown[]).length);
    expect((await call('GET', '/api/v1/work-orders/backlog', 'volelm')).json.items).toEqual([{ estate: 'elm', open: 0, overdue: 0, byTier: { grid: 0, community: 0, street: 0 } }]);
  });
});
