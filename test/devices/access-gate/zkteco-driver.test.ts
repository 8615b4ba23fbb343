import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createPushServer, type PushServer } from '../../../gateway/push-server.js';
import { allZkCodes } from '../../../devices/access-gate/zkteco-codes.js';
import { controlDevice, decodeControlDevice } from '../../../devices/access-gate/zkteco-commands.js';
import { zkDispatchStats } from '../../../devices/access-gate/zkteco-dispatch.js';
import { createZktecoDriver, parseZkTime, ZktecoOptions, type ZktecoDriver } from '../../../devices/access-gate/zkteco-driver.js';
import { createZktecoSimulator, type ZktecoSimulator } from '../../../devices/access-gate/zkteco-simulator.js';
import { getDriverFactory } from '../../../devices/registry.js';
import type { DraftEvent } from '../../../devices/types.js';
import { createLogger } from '../../../lib/log.js';
import { validateEvent } from '../../../protocol/index.js';

const hash = (v: string): string => createHmac('sha256', 'zk-salt').update(v, 'utf8').digest('hex').slice(0, 32);
// Distinctive raw values: finding one anywhere in the output cannot be a coincidence.
const CARD = '8811223344';
const PIN = '770042';
const AT = Date.UTC(2026, 10, 27, 11, 0, 0); // 2026-11-27 19:00:00 at +08:00

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()?.().catch(() => undefined);
});

async function listener(): Promise<{ server: PushServer; base: string; logs: string[] }> {
  const logs: string[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (logs.push(c.toString()), cb()) });
  const server = createPushServer({ host: '127.0.0.1', port: 0, log: createLogger({ name: 't', level: 'debug', destination: sink }) });
  await server.start();
  cleanup.push(() => server.stop());
  return { server, base: `http://127.0.0.1:${server.address().port}`, logs };
}

async function device(
  l: { server: PushServer; base: string; logs: string[] },
  serialNumber: string,
  extra: Record<string, unknown> = {},
): Promise<{ driver: ZktecoDriver; drafts: DraftEvent[]; sim: ZktecoSimulator }> {
  const drafts: DraftEvent[] = [];
  const raw = { serialNumber, commandTimeoutMs: 2_000, ...extra };
  const log = createLogger({ name: 't', level: 'debug', destination: new Writable({ write: (c: Buffer, _e, cb) => (l.logs.push(c.toString()), cb()) }) });
  const driver = createZktecoDriver({
    estate: 'estate-1',
    gateway: 'gw-1',
    device: { id: `zk-${serialNumber.toLowerCase()}`, driver: 'zkteco-adms', options: raw },
    options: ZktecoOptions.parse(raw),
    log,
    hash,
    routes: l.server.routes,
    emit: async (d) => void drafts.push(d),
  });
  await driver.start();
  cleanup.push(() => driver.stop());
  const sim = createZktecoSimulator({ serverUrl: l.base, serialNumber, pollMs: 30 });
  cleanup.push(() => sim.stop());
  return { driver, drafts, sim };
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const envelope = ({ type, ts, data }: DraftEvent) => ({ v: 1, id: '01JD0000000000000000000000', seq: 1, estate: 'e', gateway: 'g', device: 'd', type, ts, data });

describe('zkteco-adms driver', () => {
  it('is registered and parses its options', () => {
    expect(getDriverFactory('zkteco-adms')?.profile.commands).toEqual(['door.open', 'door.close', 'door.alwaysOpen']);
    expect(ZktecoOptions.safeParse({ serialNumber: 'bad sn!' }).success).toBe(false);
    expect(ZktecoOptions.parse({ serialNumber: 'A1' })).toMatchObject({ offlineAfterMs: 90_000, utcOffsetMinutes: 480 });
  });

  it('reads device-local times with the configured offset', () => {
    expect(parseZkTime('2026-11-27 19:00:00', 480)).toBe(AT);
    expect(parseZkTime('2026-02-30 10:00:00', 480)).toBeUndefined();
    expect(parseZkTime('2026-11-27T19:00:00', 480)).toBeUndefined();
  });

  it('maps every code in the table to a valid event, hashed, with source and dedupKey', async () => {
    const l = await listener();
    const { drafts, sim } = await device(l, 'MAP0001');
    for (const { code, entry } of allZkCodes()) {
      const kind = entry.type.startsWith('access') ? 'card-ok' : entry.type === 'device.tamper' ? 'tamper' : 'door-open';
      const sent = await sim.send(kind, { event: code, door: 2, cardNo: CARD, pin: PIN, at: AT });
      expect(sent.status, `code ${code}`).toBe(200);
      const d = drafts.at(-1) as DraftEvent;
      expect(d.type, `code ${code}`).toBe(entry.type);
      expect(d).toMatchObject({ ts: AT, dedupKey: String(sent.index), data: { source: { vendor: 'zkteco-adms', minor: code, serial: sent.index } } });
      const checked = validateEvent(envelope(d));
      expect(checked.ok ? 'ok' : checked.message).toBe('ok');
      if (d.type === 'access.granted' || d.type === 'access.denied') {
        expect(d.data).toMatchObject({ door: 2, method: 'card', credential: hash(CARD), person: hash(PIN) });
        if (entry.type === 'access.denied' && d.type === 'access.denied') expect(d.data.reason).toBe(entry.reason);
      } else if (d.type === 'device.tamper') expect(d.data.zone).toBe(0);
      else expect(d.data).toMatchObject({ door: 2 });
    }
    expect(drafts).toHaveLength(allZkCodes().length);
    const out = JSON.stringify(drafts) + l.logs.join('');
    expect(out).not.toContain(CARD);
    expect(out).not.toContain(PIN);
  });

  it('ignores codes it does not report, takes batches, and omits "0" card / pin', async () => {
    const l = await listener();
    const { driver, drafts, sim } = await device(l, 'MAP0002');
    expect((await sim.send('door-open', { event: 206 })).status).toBe(200); // Device Started
    expect(drafts).toHaveLength(0);
    const a = await sim.sendBatch([['card-ok', { verifytype: 15, cardNo: '0', pin: '0' }], ['door-open'], ['door-close']]);
    expect(a.status).toBe(200);
    expect(drafts.map((d) => d.type)).toEqual(['access.granted', 'door.opened', 'door.closed']);
    expect(drafts[0]?.data).toEqual({ door: 1, method: 'face', source: expect.any(Object) });
    expect((await sim.sendState()).status).toBe(200);
    expect(driver.stats()).toMatchObject({ accepted: 3, ignored: 2 });
  });

  it('hands door commands out on the next poll and resolves on Return=0', async () => {
    const l = await listener();
    const { driver, sim } = await device(l, 'CMD0001', { openSeconds: 7 });
    sim.start();
    await until(() => sim.polls > 0); // handshake read, first poll answered
    expect(driver.health().online).toBe(true);
    expect(sim.serverOptions.get('Realtime')).toBe('1');
    const sig = () => AbortSignal.timeout(3_000);
    await expect(driver.execute({ id: 'c1', name: 'door.open', args: { door: 2 }, signal: sig() })).resolves.toEqual({ door: 2, command: 'CONTROL DEVICE 01020107' });
    await driver.execute({ id: 'c2', name: 'door.close', args: { door: 1 }, signal: sig() });
    await driver.execute({ id: 'c3', name: 'door.alwaysOpen', args: {}, signal: sig() });
    expect(sim.executions().map(({ name, door, seconds }) => [name, door, seconds])).toEqual([
      ['door.open', 2, 7],
      ['door.close', 1, 0],
      ['door.alwaysOpen', 1, 255],
    ]);
    expect(controlDevice('door.open', 1, 5)).toBe('CONTROL DEVICE 01010105');
    expect(decodeControlDevice('CONTROL DEVICE 01010105')).toEqual({ name: 'door.open', door: 1, seconds: 5 });
  });

  it('reports a refusal with the Return code and timeouts with RB_ERR_DEVICE_TIMEOUT', async () => {
    const l = await listener();
    const { driver, sim } = await device(l, 'CMD0002', { commandTimeoutMs: 300 });
    sim.start();
    await until(() => driver.health().online);
    sim.failNext(1, -13);
    const cmd = (id: string) => ({ id, name: 'door.open' as const, args: { door: 1 }, signal: AbortSignal.timeout(3_000) });
    await expect(driver.execute(cmd('f1'))).rejects.toMatchObject({ code: 'RB_ERR_DEVICE_FAILED', message: expect.stringContaining('Return=-13') });
    sim.pause();
    await new Promise((r) => setTimeout(r, 100)); // let a poll already in flight finish
    await expect(driver.execute(cmd('t1'))).rejects.toMatchObject({ code: 'RB_ERR_DEVICE_TIMEOUT', message: expect.stringContaining('withdrawn') });
    sim.resume();
    await expect(driver.execute(cmd('ok'))).resolves.toMatchObject({ door: 1 });
    // The withdrawn command never reached the device; only the last one ran.
    expect(sim.executions()).toHaveLength(1);
    await expect(driver.execute({ ...cmd('bad'), name: 'door.alwaysClosed' })).rejects.toMatchObject({ code: 'RB_ERR_DEVICE_FAILED' });
  });

  it('refuses bad input with 400 and a reason, counted, and no event', async () => {
    const l = await listener();
    const { driver, drafts, sim } = await device(l, 'BAD0001', { allowFrom: ['127.0.0.1'] });
    const rt = '/iclock/cdata?SN=BAD0001&table=rtlog';
    const cases: Array<[string, 'GET' | 'POST', string, string, number]> = [
      ['bad-record', 'POST', rt, 'garbage without pairs', 400],
      ['bad-record', 'POST', rt, '', 400],
      ['bad-time', 'POST', rt, 'time=2026-13-01 00:00:00\tevent=0\teventaddr=1', 400],
      ['bad-field', 'POST', rt, 'time=2026-11-27 19:00:00\tevent=x\teventaddr=1', 400],
      ['bad-field', 'POST', rt, 'time=2026-11-27 19:00:00\tevent=0\teventaddr=99', 400],
      ['bad-devicecmd', 'POST', '/iclock/devicecmd?SN=BAD0001', 'Return=0', 400],
      ['bad-method', 'POST', '/iclock/getrequest?SN=BAD0001', '', 405],
      ['unknown-path', 'GET', '/iclock/fdata?SN=BAD0001', '', 404],
      ['missing-sn', 'GET', '/iclock/getrequest', '', 400],
      ['unknown-sn', 'GET', '/iclock/getrequest?SN=NOPE', '', 404],
    ];
    for (const [reason, method, path, body, status] of cases) {
      const a = await sim.sendRaw(method, path, body);
      expect([reason, a.status, a.body.split(':')[0]]).toEqual([reason, status, reason]);
    }
    expect(drafts).toHaveLength(0);
    expect(driver.stats().rejected).toMatchObject({ 'bad-record': 2, 'bad-time': 1, 'bad-field': 2, 'bad-devicecmd': 1, 'bad-method': 1, 'unknown-path': 1 });
    expect(zkDispatchStats(l.server.routes)?.refused).toEqual({ 'missing-sn': 1, 'unknown-sn': 1 });
    expect(driver.health().online).toBe(false); // nothing it understood came in
  });

  it('refuses sources outside allowFrom', async () => {
    const l = await listener();
    const { driver, sim } = await device(l, 'ALW0001', { allowFrom: ['10.0.0.9'] });
    expect((await sim.send('card-ok')).status).toBe(403);
    expect(driver.stats().rejected['forbidden-source']).toBe(1);
  });

  it('shares /iclock between devices by serial number and releases it with the last one', async () => {
    const l = await listener();
    const a = await device(l, 'SHARE0001');
    const b = await device(l, 'SHARE0002');
    a.sim.start();
    b.sim.start();
    await until(() => a.driver.health().online && b.driver.health().online);
    await a.sim.send('forced', { door: 1 });
    await b.sim.send('held', { door: 3 });
    expect(a.drafts.map((d) => d.type)).toEqual(['door.forced']);
    expect(b.drafts.map((d) => d.type)).toEqual(['door.held']);
    const sig = () => AbortSignal.timeout(3_000);
    await Promise.all([
      a.driver.execute({ id: 'a', name: 'door.open', args: { door: 1 }, signal: sig() }),
      b.driver.execute({ id: 'b', name: 'door.open', args: { door: 2 }, signal: sig() }),
    ]);
    expect(a.sim.executions().map((e) => e.door)).toEqual([1]);
    expect(b.sim.executions().map((e) => e.door)).toEqual([2]);
    await expect(device(l, 'SHARE0001')).rejects.toThrow(/two devices/);
    await a.driver.stop();
    expect(zkDispatchStats(l.server.routes)?.devices).toBe(1);
    expect((await a.sim.sendRaw('GET', '/iclock/getrequest?SN=SHARE0001')).status).toBe(404);
    await b.driver.stop();
    expect(zkDispatchStats(l.server.routes)).toBeUndefined();
    expect((await b.sim.sendRaw('GET', '/iclock/getrequest?SN=SHARE0002')).body).toBe('not-found\n');
  });
});
