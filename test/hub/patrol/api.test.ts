import { rm } from 'node:fs/promises';
import jsqr from 'jsqr';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zonedInstant } from '../../../lib/zoned.js';
import type { PatrolCheckpointView, PatrolRoundView, PatrolRunView, PatrolScanResult } from '../../../protocol/patrol.js';
import { startTestHub, type TestHub } from '../../support/hub.js';

/**
 * Patrol rounds over REST on a real hub (issue 19, "A patrol scans 3 of 4 checkpoints: the fourth
 * raises an alert at its deadline"), with the patrol clock faked so deadlines are exact instants:
 * the round starts at 08:00 (Asia/Shanghai) and its checkpoints are due at 08:10, 08:15, 08:20, 08:25.
 */
// jsqr is CommonJS: under NodeNext its default import is the module, whose `default` is the decoder.
const jsQR = jsqr.default;
const A = 'estate-a';
const B = 'estate-b';
const DAY = { y: 2026, m: 12, d: 7 };
const at = (hh: number, mm: number, ss = 0): number => zonedInstant(DAY.y, DAY.m, DAY.d, hh * 60 + mm, 'Asia/Shanghai') + ss * 1000;

describe('patrol rounds (REST, fake clock)', () => {
  let hub: TestHub;
  let now = at(7, 55);
  const clock = { now: () => now };
  const tokens: Record<string, string> = {};
  const cps: Array<Required<PatrolCheckpointView>> = [];
  let otherEstate: Required<PatrolCheckpointView>;
  let round: PatrolRoundView;
  let firstDir: string | undefined;

  const start = async (dataDir?: string): Promise<TestHub> => {
    const h = await startTestHub({ patrol: clock, ...(dataDir ? { dataDir } : {}) });
    return h;
  };
  const scan = (code: string, who = 'patrol') => hub.api('POST', '/api/v1/patrol/scan', { token: tokens[who]!, body: { code } });
  const missedEvents = async () => (await hub.events({ type: 'patrol.missed' })).length;
  const missedAlerts = async () => (await hub.api('GET', `/api/v1/alerts?estate=${A}&rule=patrol.missed&state=open`)).json.items as Array<{ count: number; severity: number; device: string; deviceName?: string; data: Record<string, unknown> }>;

  beforeAll(async () => {
    hub = await start();
    const reg = hub.hub.registry;
    await reg.addStreet('street-1', '幸福街道');
    await reg.addEstate(A, { street: 'street-1', name: '枫林苑' });
    await reg.addEstate(B, { street: 'street-1', name: '桂花园' });
    tokens.center = (await hub.addUser({ name: 'center-1', role: 'center', scopes: ['street:street-1'] })).token;
    tokens.centerB = (await hub.addUser({ name: 'center-b', role: 'center', scopes: [`estate:${B}`] })).token;
    tokens.patrol = (await hub.addUser({ name: 'pat-1', role: 'patrol', scopes: [`estate:${A}`], displayName: '赵巡逻' })).token;
    tokens.vol = (await hub.addUser({ name: 'vol-1', role: 'volunteer', scopes: [`estate:${A}`] })).token;
  });
  afterAll(async () => {
    await hub?.stop();
    if (firstDir) await rm(firstDir, { recursive: true, force: true });
  });

  it('center and admin create checkpoints; others may not; another estate is 404', async () => {
    for (const [i, name] of ['北门岗亭', '3号楼地下车库', '东侧围墙', '配电房'].entries()) {
      const r = await hub.api('POST', '/api/v1/patrol/checkpoints', { token: tokens.center!, body: { estate: A, name, location: `位置 ${i + 1}` } });
      expect(r.status).toBe(201);
      cps.push(r.json as unknown as Required<PatrolCheckpointView>);
    }
    expect(cps[0]!.code).toMatch(/^[0-9A-HJKMNP-TV-Z]{12}$/);
    expect(new Set(cps.map((c) => c.code)).size).toBe(4);
    otherEstate = (await hub.api('POST', '/api/v1/patrol/checkpoints', { token: tokens.centerB!, body: { estate: B, name: '南门' } })).json as unknown as Required<PatrolCheckpointView>;
    expect((await hub.api('POST', '/api/v1/patrol/checkpoints', { token: tokens.vol!, body: { estate: A, name: 'x' } })).status).toBe(403);
    expect((await hub.api('POST', '/api/v1/patrol/checkpoints', { token: tokens.centerB!, body: { estate: A, name: 'x' } })).status).toBe(403);
    expect((await hub.api('PUT', `/api/v1/patrol/checkpoints/${otherEstate.id}`, { token: tokens.vol!, body: { name: 'y' } })).status).toBe(403);
    expect((await hub.api('DELETE', `/api/v1/patrol/checkpoints/${cps[0]!.id}`, { token: tokens.centerB! })).status).toBe(404);
    // A volunteer lists them without their codes (the code is what the printed sticker proves).
    const listed = (await hub.api('GET', '/api/v1/patrol/checkpoints', { token: tokens.vol! })).json.items as PatrolCheckpointView[];
    expect(listed.map((c) => c.name).sort()).toEqual(['3号楼地下车库', '东侧围墙', '北门岗亭', '配电房']);
    expect(listed.every((c) => c.code === undefined)).toBe(true);
  });

  it('QR codes: a PNG that decodes to {hub}/p/{code}, and an A4 sheet (PDF, CJK font)', async () => {
    const png = await fetch(`${hub.httpUrl}/api/v1/patrol/checkpoints/${cps[0]!.id}/qr.png`, { headers: { authorization: `Bearer ${tokens.center}` } });
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    const { data, info } = await sharp(Buffer.from(await png.arrayBuffer())).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height)?.data).toBe(`${hub.httpUrl}/p/${cps[0]!.code}`);
    const vol = await fetch(`${hub.httpUrl}/api/v1/patrol/checkpoints/${cps[0]!.id}/qr.png`, { headers: { authorization: `Bearer ${tokens.vol}` } });
    expect(vol.status).toBe(403);
    const pdf = await fetch(`${hub.httpUrl}/api/v1/patrol/sheet.pdf?estate=${A}`, { headers: { authorization: `Bearer ${tokens.center}` } });
    expect(pdf.status).toBe(200);
    const bytes = Buffer.from(await pdf.arrayBuffer());
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    expect(bytes.toString('latin1')).toContain('WenQuanYiMicroHei');
    // What the sticker opens in a phone's camera app: the patrol tab with the code.
    const open = await fetch(`${hub.httpUrl}/p/${cps[0]!.code}`, { redirect: 'manual' });
    expect(open.status).toBe(302);
    expect(open.headers.get('location')).toBe(`/me?tab=patrol&code=${cps[0]!.code}`);
  });

  it('a round with a schedule makes a run at its start', async () => {
    const body = { estate: A, name: '早班巡更', starts: ['08:00', '20:00'], windowMinutes: 30, points: cps.map((c, i) => ({ checkpoint: c.id, dueMinutes: 10 + 5 * i })) };
    expect((await hub.api('POST', '/api/v1/patrol/rounds', { token: tokens.center!, body: { ...body, points: [{ checkpoint: otherEstate.id }] } })).status).toBe(400);
    const r = await hub.api('POST', '/api/v1/patrol/rounds', { token: tokens.center!, body });
    expect(r.status).toBe(201);
    round = r.json as unknown as PatrolRoundView;
    expect(round.points.map((p) => p.name)).toEqual(['北门岗亭', '3号楼地下车库', '东侧围墙', '配电房']);
    now = at(8, 1);
    await hub.hub.patrol.tick();
    const runs = (await hub.api('GET', '/api/v1/patrol/runs', { token: tokens.patrol! })).json.items as PatrolRunView[];
    expect(runs.map((x) => [x.startsAt, x.state])).toEqual([
      [at(8, 0), 'active'],
      [at(20, 0), 'upcoming'],
    ]);
    expect(runs[0]!.next).toBe(cps[0]!.id);
    expect(runs[0]!.points.map((p) => p.dueAt)).toEqual([at(8, 10), at(8, 15), at(8, 20), at(8, 25)]);
    // Another estate's people do not see it.
    expect((await hub.api('GET', `/api/v1/patrol/runs?estate=${A}`, { token: tokens.centerB! })).status).toBe(403);
  });

  it('scans: in time, a duplicate, late; a code of another estate or an unknown code is 404', async () => {
    now = at(8, 2);
    const first = await scan(cps[0]!.code);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ matched: true, duplicate: false, late: false, scannedAt: at(8, 2) });
    expect((first.json as unknown as PatrolScanResult).run!.next).toBe(cps[1]!.id);
    now = at(8, 5);
    // Two taps at once: one scan, and the other answers it as a duplicate.
    const both = await Promise.all([scan(cps[1]!.code.toLowerCase()), scan(cps[1]!.code)]);
    expect(both.map((r) => [r.status, r.json.matched, r.json.late])).toEqual([
      [200, true, false],
      [200, true, false],
    ]);
    expect(both.map((r) => r.json.duplicate).sort()).toEqual([false, true]);
    now = at(8, 6);
    const again = await scan(cps[1]!.code);
    expect(again.json).toMatchObject({ matched: true, duplicate: true, scannedAt: at(8, 5) });
    now = at(8, 21);
    expect((await scan(cps[2]!.code, 'vol')).json).toMatchObject({ matched: true, late: true });
    expect((await scan(otherEstate.code)).status).toBe(404);
    expect((await scan('0000000000ZZ')).status).toBe(404);
    expect((await scan('not a code')).status).toBe(400);
  });

  it('the fourth checkpoint raises exactly one alert at its deadline; again and after a restart, none', async () => {
    now = at(8, 24, 59);
    await hub.hub.patrol.tick();
    expect(await missedEvents()).toBe(0);
    now = at(8, 25);
    await hub.hub.patrol.tick();
    expect(await missedEvents()).toBe(1);
    await expect.poll(async () => (await missedAlerts()).length, { timeout: 10_000 }).toBe(1);
    const [alert] = await missedAlerts();
    expect(alert).toMatchObject({ severity: 2, device: cps[3]!.id, deviceName: '配电房', count: 1 });
    expect(alert!.data).toMatchObject({ type: 'patrol.missed', checkpointName: '配电房', roundName: '早班巡更', dueAt: at(8, 25) });

    now = at(8, 40);
    await hub.hub.patrol.tick();
    const runs = (await hub.api('GET', '/api/v1/patrol/runs', { token: tokens.patrol! })).json.items as PatrolRunView[];
    expect(runs[0]!.state).toBe('incomplete');
    expect(runs[0]!.points.map((p) => p.state)).toEqual(['scanned', 'scanned', 'late', 'missed']);

    // A restart on the same database, and a second raise of the same point (as a second node would
    // make after losing its stamp): the event id is the same, so the log keeps one and nothing repeats.
    const dataDir = (firstDir = hub.dataDir);
    await hub.hub.stop();
    hub = await start(dataDir);
    const db = await hub.openDatabase();
    try {
      await db.db.updateTable('patrol_scans').set({ missed_at: null }).where('checkpoint', '=', cps[3]!.id).execute();
    } finally {
      await db.close();
    }
    await hub.hub.patrol.tick();
    await hub.hub.alerts.idle();
    expect(await missedEvents()).toBe(1);
    expect((await missedAlerts()).map((a) => a.count)).toEqual([1]);
  });

  it("history per person: the patrol's own scans, newest first", async () => {
    const mine = (await hub.api('GET', '/api/v1/patrol/history', { token: tokens.patrol! })).json;
    expect((mine.items as Array<{ name: string; late: boolean; userName: string }>).map((i) => [i.name, i.late, i.userName])).toEqual([
      ['3号楼地下车库', false, '赵巡逻'],
      ['北门岗亭', false, '赵巡逻'],
    ]);
    const everyone = (await hub.api('GET', `/api/v1/patrol/history?estate=${A}&user=*`, { token: tokens.center! })).json.items as unknown[];
    expect(everyone).toHaveLength(3);
  });
});
