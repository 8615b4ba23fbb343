import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandLog } from '../../gateway/command-log.js';
import { createCommandExecutor } from '../../gateway/commands.js';
import { createEdgeWarner, type EdgeWarner } from '../../gateway/edge.js';
import { silentLogger } from '../../lib/log.js';
import { DutyList, type RbEvent } from '../../protocol/index.js';
import { startGammuSmsd, type GammuSmsd } from '../support/gammu.js';
import { makeEvent } from '../support/hub.js';

const log = silentLogger();

describe('gateway edge warner (gateway/edge.ts) on a real gammu-smsd spool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-edge-unit-'));
  let smsd: GammuSmsd;
  let away = 0;
  const t = 1_800_000_000_000;
  const duty = DutyList.parse({
    estate: 'elm',
    estateName: '幸福里',
    issuedAt: t,
    people: [
      { userId: 'u-wang', name: '王', phone: '+8613800138000', duty: [{ from: t - 1000, to: t + 3_600_000 }] },
      { userId: 'u-lee', name: 'Lee', phone: '13900139000', lang: 'en', duty: [{ from: t - 1000, to: t + 3_600_000 }] },
      { userId: 'u-center', name: '中心', phone: '13700137000', standby: true },
    ],
  });
  const warner = (now = () => t): EdgeWarner =>
    createEdgeWarner({
      estate: 'elm',
      gateway: 'gw-1',
      dataDir: join(dir, 'gw'),
      config: { alertAfterS: 60, repeatS: 300, gammu: { smsdrc: smsd.smsdrc, pidFile: smsd.pidFile } },
      hubAwayMs: () => away,
      deviceName: (id) => (id === 'gate-1' ? '东门' : undefined),
      log,
      now,
    });
  const forced = (device = 'gate-1'): RbEvent => makeEvent({ estate: 'elm', gateway: 'gw-1', device, type: 'door.forced', data: { door: 1 }, ts: t });
  const queued = () => [...readdirSync(smsd.spool.outbox), ...readdirSync(smsd.spool.sent)].filter((n) => n.startsWith('OUT'));

  beforeAll(async () => {
    smsd = await startGammuSmsd();
    smsd.pause(); // files stay in the outbox where the test can count them
  });
  afterAll(async () => {
    await smsd.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('wants to text only about critical events, and only once the hub has been away for alertAfterS', async () => {
    const w = warner();
    await w.start();
    away = 0;
    expect(w.wanted(forced())).toBe(false);
    away = 59_000;
    expect(w.wanted(forced())).toBe(false);
    away = 60_000;
    expect(w.wanted(forced())).toBe(true);
    expect(w.wanted(makeEvent({ type: 'door.opened', data: { door: 1 } }))).toBe(false);
    // No duty list yet: nobody can be texted, no notice.
    expect(await w.warn(forced())).toBeUndefined();
    expect(queued()).toEqual([]);
  });

  it('texts the people on duty once per event, keeps the list across a restart, and holds back a chattering device', async () => {
    const w = warner();
    await w.start();
    expect(await w.setDuty(duty)).toEqual({ people: 3 });
    expect(existsSync(join(dir, 'gw', 'duty.json'))).toBe(true);
    const again = warner(); // a gateway restarted while the hub is away
    await again.start();
    expect(again.stats()).toMatchObject({ dutyPeople: 3, dutyIssuedAt: t });

    const e = forced();
    const notice = await again.warn(e);
    expect(notice).toEqual({ notifiedAt: t, channel: 'gammu', rule: 'door.forced', to: ['u-wang', 'u-lee'] });
    expect(queued().sort()).toEqual([`OUTA_+8613800138000_${e.id}-u-wang.txt`, `OUTA_13900139000_${e.id}-u-lee.txt`].sort());
    // The same event again (a device re-posting it, the gateway restarted): no second file.
    const w3 = warner();
    await w3.start();
    expect((await w3.warn(e))?.to).toEqual(['u-wang', 'u-lee']);
    expect(queued()).toHaveLength(2);
    // Another forced door on the same device within repeatS: held back; on another device: texted.
    expect(await again.warn(forced())).toBeUndefined();
    expect(again.stats().suppressed).toBe(1);
    expect((await again.warn(forced('gate-2')))?.to).toEqual(['u-wang', 'u-lee']);
    expect(queued()).toHaveLength(4);
  });

  it('nobody on duty: the standby people', async () => {
    const w = warner(() => t + 7_200_000);
    await w.start();
    expect((await w.warn(forced('gate-3')))?.to).toEqual(['u-center']);
  });
});

describe('commands to the gateway itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-edge-cmd-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gateway.duty.set: validated, handled, or unsupported when the edge is off', async () => {
    const results: Record<string, unknown>[] = [];
    const got: unknown[] = [];
    const make = (withEdge: boolean, name: string) => {
      const cmdLog = createCommandLog(join(dir, `${name}.db`));
      cmdLog.open();
      return createCommandExecutor({
        estate: 'elm',
        gateway: 'gw-1',
        devices: new Map(),
        log: cmdLog,
        logger: log,
        publish: async (_t, p) => void results.push(JSON.parse(p) as Record<string, unknown>),
        maxDurationMs: 1000,
        local: withEdge ? { 'gateway.duty.set': async (args) => (got.push(args), { people: 1 }) } : {},
      });
    };
    const now = Date.now();
    const cmd = (args: unknown) => Buffer.from(JSON.stringify({ v: 1, id: ulid(), device: 'gw-1', name: 'gateway.duty.set', args, issuedAt: now, expiresAt: now + 10_000, actor: { id: 'system:duty-sync' } }));
    const list = { estate: 'elm', issuedAt: now, people: [{ userId: 'u', name: 'U', phone: '13800138000' }] };
    const on = make(true, 'on');
    expect(await on.handle('gw-1', cmd(list))).toMatchObject({ status: 'ok', data: { people: 1 } });
    expect(got[0]).toMatchObject({ estate: 'elm', timeZone: 'Asia/Shanghai', people: [{ lang: 'zh-CN', duty: [], standby: false }] });
    expect(await on.handle('gw-1', cmd({ ...list, people: [{ userId: 'u', name: 'U', phone: 'call me' }] }))).toMatchObject({ status: 'error', code: 'RB_ERR_CMD_INVALID' });
    expect(await make(false, 'off').handle('gw-1', cmd(list))).toMatchObject({ status: 'error', code: 'RB_ERR_CMD_UNSUPPORTED' });
    expect(results).toHaveLength(3);
  });
});
