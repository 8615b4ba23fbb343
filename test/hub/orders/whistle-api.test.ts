import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../../support/hub.js';
import { webhookFake } from '../../support/providers/webhook.js';
import { whistleFigures } from '../../../hub/orders/whistle-figures.js';

/**
 * Whistle and report (吹哨报到) on a real hub (issue 19 "Must show"): 城管 is whistled and told through
 * its configured channel (a signed webhook, checked by a local receiver) with a private /w/ link; a
 * check-in time that passes (the hub's order clock moved, not slept) shows the whistle as missed on
 * GET /work-orders/:id and counts it once; a check-in and a report through the /w/ page are recorded
 * as steps of the order; a department without a contact is whistled and recorded all the same.
 */
const SECRET = 'whistle-test-secret-0123456789';
const H = 3_600_000;

describe('whistle and report (REST and the /w/ page, real hub)', () => {
  let t: TestHub;
  let hook: ReturnType<typeof webhookFake>;
  let offset = 0;
  let center: string;
  let orderId: string;

  beforeAll(async () => {
    hook = await webhookFake({ secret: SECRET }).start();
    t = await startTestHub({
      ordersNow: () => Date.now() + offset,
      config: {
        notify: { publicUrl: 'https://rb.example.gov.cn', channels: [{ id: 'street-hook', type: 'webhook', url: hook.url(), secret: SECRET }] },
        orders: {
          whistle: { checkInWithin: '2h', reportWithin: '24h' },
          departments: [
            { id: 'chengguan', name: { zh: '城管', en: 'City management' }, contact: { channel: 'street-hook' } },
            { id: 'police', name: { zh: '派出所', en: 'Police station' } },
          ],
        },
      },
    });
    await t.hub.registry.addStreet('s1');
    await t.hub.registry.addEstate('e1', { street: 's1', name: '幸福里' });
    await t.hub.registry.addEstate('e2', { name: '别处' });
    center = (await t.addUser({ name: 'center', role: 'center', scopes: ['street:s1'] })).token;
    const imported = await t.api('POST', '/api/v1/work-orders/import', { token: center, body: [{ externalNo: 'W-1', estate: 'e1', category: 'sanitation', description: '小区门口占道经营' }] });
    orderId = (imported.json.items as Array<{ id: string }>)[0]!.id;
  });
  afterAll(async () => {
    await t?.stop();
    await hook?.close();
  });

  const order = async () => {
    const r = await t.api('GET', `/api/v1/work-orders/${orderId}`, { token: center });
    expect(r.status).toBe(200);
    return ((r.json.order as Record<string, unknown> | undefined) ?? r.json) as { whistles: Array<Record<string, unknown>>; steps: Array<{ action: string; actor: string; note?: string }> };
  };
  const page = (token: string, form?: Record<string, string>) =>
    fetch(`${t.httpUrl}/w/${token}`, {
      method: form ? 'POST' : 'GET',
      ...(form ? { body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
      signal: AbortSignal.timeout(10_000),
    });
  const tokenOf = (text: string) => /https:\/\/rb\.example\.gov\.cn\/w\/([A-Za-z0-9_-]+)/.exec(text)?.[1];

  it('only the center or admin whistles, only known departments, only orders in scope', async () => {
    const vol = (await t.addUser({ name: 'vol', role: 'volunteer', scopes: ['estate:e1'] })).token;
    const far = (await t.addUser({ name: 'far', role: 'center', scopes: ['estate:e2'] })).token;
    expect((await t.api('POST', `/api/v1/work-orders/${orderId}/whistles`, { token: vol, body: { department: 'chengguan' } })).status).toBe(403);
    expect((await t.api('POST', `/api/v1/work-orders/${orderId}/whistles`, { token: far, body: { department: 'chengguan' } })).status).toBe(404);
    const unknown = await t.api('POST', `/api/v1/work-orders/${orderId}/whistles`, { token: center, body: { department: 'navy' } });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.json)).toContain('configured: chengguan, police');
  });

  it('lists the configured departments to any signed-in user, saying who is messaged but never the contact', async () => {
    const vol = (await t.addUser({ name: 'vol2', role: 'volunteer', scopes: ['estate:e1'] })).token;
    const r = await t.api('GET', '/api/v1/work-orders/departments', { token: vol });
    expect(r.status).toBe(200);
    expect(r.json.items).toEqual([
      { id: 'chengguan', name: { zh: '城管', en: 'City management' }, contact: true },
      { id: 'police', name: { zh: '派出所', en: 'Police station' }, contact: false },
    ]);
    expect(JSON.stringify(r.json)).not.toContain('street-hook');
    expect((await fetch(`${t.httpUrl}/api/v1/work-orders/departments`, { signal: AbortSignal.timeout(10_000) })).status).toBe(401);
  });

  it('a whistle to 城管 not checked in by its time is shown as missed and counted once; 派出所 without a contact is recorded', async () => {
    const r = await t.api('POST', `/api/v1/work-orders/${orderId}/whistles`, { token: center, body: { department: 'chengguan', note: '占道经营，请城管到场' } });
    expect(r.status).toBe(201);
    expect(r.json.whistle).toMatchObject({ department: 'chengguan', departmentName: '城管', missed: false, checkedInAt: null });
    expect(hook.accepted).toHaveLength(1);
    expect(hook.accepted[0]!.text).toContain('城管：幸福里 工单');
    expect(tokenOf(hook.accepted[0]!.text)).toBeTruthy();
    const police = await t.api('POST', `/api/v1/work-orders/${orderId}/whistles`, { token: center, body: { department: 'police' } });
    expect(police.status).toBe(201);
    expect(hook.accepted).toHaveLength(1);

    offset += 2 * H + 1000;
    await t.hub.orderTiers.sweep.sweep();
    const o = await order();
    expect(o.whistles.map((w) => [w.department, w.missed, w.checkedInAt])).toEqual([
      ['chengguan', true, null],
      ['police', true, null],
    ]);
    expect(o.steps.filter((s) => s.action === 'whistled').map((s) => s.note)).toEqual(['吹哨 城管：占道经营，请城管到场', '吹哨 派出所']);
    expect(await t.metric('rb_order_whistles_missed_total', { department: 'chengguan' })).toBe(1);
    await t.hub.orderTiers.sweep.sweep();
    expect(await t.metric('rb_order_whistles_missed_total', { department: 'chengguan' })).toBe(1);
  });

  it('城管 checks in and reports through the /w/ page: recorded as steps; script in the report stays text', async () => {
    const r = await t.api('POST', `/api/v1/work-orders/${orderId}/whistles`, { token: center, body: { department: 'chengguan' } });
    expect(r.status).toBe(201);
    const token = tokenOf(hook.accepted.at(-1)!.text)!;
    const shown = await page(token);
    expect(shown.status).toBe(200);
    expect(shown.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await shown.text();
    expect(html).toContain('报到 Check in');
    expect(html).toContain('反馈截止 Report by');
    expect(html).toContain('小区门口占道经营');

    offset += 30 * 60_000;
    const checked = await page(token, { action: 'checkin' });
    expect(checked.status).toBe(200);
    expect(await checked.text()).toContain('已报到，谢谢');
    const report = '<script>alert(1)</script>已劝离摊贩';
    const reported = await (await page(token, { action: 'report', report })).text();
    expect(reported).toContain('&lt;script&gt;alert(1)&lt;/script&gt;已劝离摊贩');
    expect(reported).not.toContain('<script>');

    const o = await order();
    const w = o.whistles.at(-1)!;
    expect(w).toMatchObject({ department: 'chengguan', missed: false, report });
    expect(w.checkedInAt).toEqual(expect.any(Number));
    const steps = o.steps.filter((s) => s.actor === 'department:chengguan');
    expect(steps.map((s) => s.action)).toEqual(['checked_in', 'reported']);
    expect(steps[1]!.note).toBe(report);
    // Again: nothing changes.
    expect(await (await page(token, { action: 'checkin' })).text()).toContain('此操作已完成');
    const unknown = await page('not-a-real-token');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('text/html');
    expect(await unknown.text()).toContain('此链接无效或已失效');
  });

  it('a department whose channel failed is told by the sweep later, with the same link; the figures count it all', async () => {
    hook.failNext('server-error');
    const before = hook.accepted.length;
    const r = await t.api('POST', `/api/v1/work-orders/${orderId}/whistles`, { token: center, body: { department: 'chengguan', note: '再次吹哨' } });
    expect(r.status).toBe(201);
    expect(hook.accepted).toHaveLength(before);
    const db = await t.openDatabase();
    try {
      const row = await db.db.selectFrom('order_whistles').selectAll().where('id', '=', (r.json.whistle as { id: string }).id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ notify_state: 'pending', notify_error: expect.stringContaining('RB_ERR_NOTIFY_UNAVAILABLE') });
      offset += 31_000;
      await t.hub.orderTiers.sweep.sweep();
      expect(hook.accepted).toHaveLength(before + 1);
      expect(hook.accepted.at(-1)!.idempotencyKey).toBe(row.id);
      expect(tokenOf(hook.accepted.at(-1)!.text)).toBeTruthy();
      expect((await db.db.selectFrom('order_whistles').select('notify_state').where('id', '=', row.id).executeTakeFirstOrThrow()).notify_state).toBe('sent');
      const figures = await whistleFigures(db, { estates: ['e1'], from: 0, to: Date.now() + offset + 1, now: Date.now() + offset });
      expect(figures).toEqual([
        { department: 'chengguan', whistled: 3, checkedIn: 1, missed: 1, reported: 1, medianCheckInS: expect.any(Number) },
        { department: 'police', whistled: 1, checkedIn: 0, missed: 1, reported: 0, medianCheckInS: null },
      ]);
      // 30 minutes on the order clock, plus the few real milliseconds between the two requests.
      expect(figures[0]!.medianCheckInS).toBeGreaterThanOrEqual(1800);
      expect(figures[0]!.medianCheckInS).toBeLessThan(1860);
    } finally {
      await db.close();
    }
  });

  it('a flood of /w/ requests from one address is answered 429 with Retry-After', async () => {
    const answers = await Promise.all(Array.from({ length: 35 }, () => page('flood-token')));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.headers.get('retry-after')).toBe('60');
    expect(answers.filter((a) => a.status !== 429).every((a) => a.status === 404)).toBe(true);
    await Promise.all(answers.map((a) => a.body?.cancel()));
  });
});
