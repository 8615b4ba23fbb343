import { ESTATES } from './demo-street.js';

/**
 * The demo street's work orders (工单, issue 19), made the way they are made in an estate, through the
 * hub's own routes: two 12345 city-hotline orders imported (idempotent by the city's number, so a
 * restarted demo finds them), and a call to the dedicated phone line registered by the center (来电登记).
 * Residents' QR reports are filed by `fileResidentReport` (the public page's form, as a phone posts it).
 */
export const HOTLINE_ORDERS = [
  { externalNo: '12345-DEMO-0001', estate: ESTATES[0]!.id, category: 'noise', building: '6栋', description: '夜间广场舞音响声音过大，影响休息' },
  { externalNo: '12345-DEMO-0002', estate: ESTATES[1]!.id, category: 'sanitation', building: '2栋', description: '楼道堆放杂物，垃圾未及时清运' },
] as const;

export const PHONE_CALL = {
  estate: ESTATES[0]!.id,
  source: 'phone',
  category: 'repair',
  building: '3栋',
  unit: '2单元',
  description: '来电：3栋2单元楼道灯不亮，老人夜间上下楼不便',
  phone: '13800138000',
} as const;

type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; json: unknown }>;

function apiOf(base: string, token: string): Api {
  return async (method, path, body) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
  };
}

/** Import the 12345 orders and register the phone call (once: a demo restarted on its data dir finds them). Returns what it made. */
export async function seedDemoOrders(base: string, token: string): Promise<{ imported: number; phone: boolean }> {
  const api = apiOf(base, token);
  const imported = await api('POST', '/api/v1/work-orders/import', HOTLINE_ORDERS);
  if (imported.status !== 200) throw new Error(`demo: importing the 12345 orders answered ${imported.status}: ${JSON.stringify(imported.json)}`);
  const calls = await api('GET', `/api/v1/work-orders?estate=${PHONE_CALL.estate}&source=phone&limit=1`);
  const have = ((calls.json as { items?: unknown[] } | undefined)?.items ?? []).length > 0;
  if (!have) {
    const made = await api('POST', '/api/v1/work-orders', PHONE_CALL);
    if (made.status !== 201 && made.status !== 200) throw new Error(`demo: registering the phone call answered ${made.status}: ${JSON.stringify(made.json)}`);
  }
  return { imported: (imported.json as { created?: number }).created ?? 0, phone: !have };
}
