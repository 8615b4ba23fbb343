import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../../support/hub.js';

/**
 * 12345 import on a real hub (issue 19 "Must show"): the same order imported twice is one order; a CSV
 * with a bad row answers that row's line and the column at fault and imports the rest; script in a
 * field is stored and answered as the text it is; only the center and admin import, into their estates.
 */
describe('12345 import (REST, real hub)', () => {
  let t: TestHub;
  let center: string;
  let volunteer: string;

  beforeAll(async () => {
    t = await startTestHub();
    await t.hub.registry.addStreet('s1');
    await t.hub.registry.addEstate('e1', { street: 's1', name: '幸福里' });
    await t.hub.registry.addEstate('e2', { name: '别处' });
    center = (await t.addUser({ name: 'center', role: 'center', scopes: ['street:s1'] })).token;
    volunteer = (await t.addUser({ name: 'vol', role: 'volunteer', scopes: ['estate:e1'] })).token;
  });
  afterAll(() => t?.stop());

  const csv = async (body: string, token = center) => {
    const res = await fetch(`${t.httpUrl}/api/v1/work-orders/import.csv`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv; charset=utf-8' }, body, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const order = async (id: string) => {
    const r = await t.api('GET', `/api/v1/work-orders/${id}`, { token: center });
    expect(r.status).toBe(200);
    return ((r.json.order as Record<string, unknown> | undefined) ?? r.json) as Record<string, unknown>;
  };

  it('the same 12345 order imported twice is one order; the answer says created, then existing', async () => {
    const item = { externalNo: '2026120700123', estate: 'e1', category: '报修', description: '3号楼电梯停运', phone: '13812345678', createdAt: '2026-12-07 08:15' };
    const first = await t.api('POST', '/api/v1/work-orders/import', { token: center, body: [item] });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ created: 1, existing: 0, failed: 0, items: [{ index: 0, externalNo: '2026120700123', result: 'created' }] });
    const again = await t.api('POST', '/api/v1/work-orders/import', { token: center, body: [item, { ...item }] });
    expect(again.json).toMatchObject({ created: 0, existing: 2, failed: 0 });
    const ids = new Set([first.json, again.json].flatMap((j) => (j.items as Array<{ id: string }>).map((i) => i.id)));
    expect(ids.size).toBe(1);
    const o = await order([...ids][0]!);
    expect(o).toMatchObject({ source: 'hotline', category: 'repair', externalNo: '2026120700123', estate: 'e1' });
    const list = await t.api('GET', '/api/v1/work-orders?estate=e1&source=hotline', { token: center });
    expect((list.json.items as Array<{ externalNo: string }>).filter((i) => i.externalNo === '2026120700123')).toHaveLength(1);
  });

  it('a CSV with a bad row answers its line and the column at fault, and imports the rest; script stays text', async () => {
    const script = '<script>alert("x")</script>楼道堆物';
    const body = [
      'externalNo,estate,category,description,phone',
      'C-1,e1,hazard,"楼道堆放杂物, 堵塞通道",13900000001',
      'C-2,e1,flying-saucer,不明飞行物,',
      `C-3,e1,sanitation,"${script.replace(/"/g, '""')}",`,
      'C-4,e1,noise',
      'C-5,e2,noise,别处的噪音,',
    ].join('\r\n');
    const r = await csv(body);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ created: 2, failed: 3 });
    const items = r.json.items as Array<{ line: number; result: string; error?: { message: string; field?: string }; id?: string }>;
    expect(items.map((i) => [i.line, i.result])).toEqual([
      [2, 'created'],
      [3, 'error'],
      [4, 'created'],
      [5, 'error'],
      [6, 'error'],
    ]);
    expect(items[1]!.error).toMatchObject({ field: 'category', message: expect.stringContaining('category: unknown category "flying-saucer"') });
    expect(items[3]!.error!.message).toBe('line 5: has 3 cells; the header has 5');
    expect(items[4]!.error).toMatchObject({ field: 'estate' });
    const stored = await order(items[2]!.id!);
    expect(stored.description).toBe(script);
    // Imported again: nothing new.
    expect((await csv(body)).json).toMatchObject({ created: 0, existing: 2, failed: 3 });
  });

  it('refuses a volunteer, an unknown header column, a broken quote (by its line) and an oversized file', async () => {
    expect((await t.api('POST', '/api/v1/work-orders/import', { token: volunteer, body: [] })).status).toBe(403);
    expect((await csv('externalNo,estate\n', volunteer)).status).toBe(403);
    const header = await csv('externalNo,estate,colour\nX,e1,red\n');
    expect(header.status).toBe(400);
    expect(JSON.stringify(header.json)).toContain('header column 3 \\"colour\\"');
    const quote = await csv('externalNo,estate,category,description\nQ-1,e1,repair,"unclosed\nQ-2,e1,repair,fine\n');
    expect(quote.status).toBe(200);
    expect((quote.json.items as Array<{ result: string }>).some((i) => i.result === 'error')).toBe(true);
    const big = await csv(`externalNo,estate,category,description\n${'B,e1,repair,'.padEnd(3 * 1024 * 1024, 'x')}\n`);
    expect(big.status).toBe(413);
    const notArray = await t.api('POST', '/api/v1/work-orders/import', { token: center, body: { externalNo: 'x' } });
    expect(notArray.status).toBe(400);
  });
});
