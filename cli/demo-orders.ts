import sharp from 'sharp';
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

/** What the demo's residents report, in turn (one per call of fileResidentReport). */
export const RESIDENT_REPORTS = [
  { estate: ESTATES[0]!.id, category: 'repair', building: '5号楼', unit: '1单元', description: '单元门门禁坏了，关不上', photo: true },
  { estate: ESTATES[0]!.id, category: 'hazard', building: '2号楼', unit: '', description: '楼下电动车飞线充电，有火灾隐患', photo: true },
  { estate: ESTATES[1]!.id, category: 'sanitation', building: '8号楼', unit: '', description: '垃圾桶满了两天没人清理', photo: false },
] as const;

/** A phone photo as a resident takes one (a JPEG; the hub strips its metadata). */
async function snapshotJpeg(label: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="640" height="480" fill="#8a9aa8"/><rect x="60" y="60" width="520" height="360" fill="#d8d2c4"/><text x="320" y="250" font-size="36" text-anchor="middle" font-family="WenQuanYi Micro Hei">${label.replace(/[<>&]/g, '')}</text></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 80 }).withExif({ IFD0: { Make: 'DemoPhone' } }).toBuffer();
}

/**
 * A resident files a report the way a phone does after scanning the estate's QR poster: the form
 * (GET /r/{estate}, which sets the browser cookie), then a multipart POST with a photo. Returns the
 * order number the page shows, or undefined when the hub refused (e.g. its rate limit).
 */
export async function fileResidentReport(base: string, n: number): Promise<string | undefined> {
  const r = RESIDENT_REPORTS[n % RESIDENT_REPORTS.length]!;
  const form = await fetch(`${base}/r/${r.estate}`);
  const cookie = (form.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const body = new FormData();
  body.set('category', r.category);
  body.set('building', r.building);
  body.set('unit', r.unit);
  body.set('description', r.description);
  if (r.photo) body.append('photo', new Blob([await snapshotJpeg(r.description.slice(0, 10))], { type: 'image/jpeg' }), 'IMG_0001.jpg');
  const res = await fetch(`${base}/r/${r.estate}`, { method: 'POST', body, headers: cookie ? { cookie } : {} });
  const page = await res.text();
  return res.status === 201 ? /GD\d{8}-\d{4}/.exec(page)?.[0] : undefined;
}
