import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barrierGateXml, LIST_BATCH, plateRecords } from '../../../devices/barrier-gate/anpr-commands.js';
import { createBarrierGateSimulator, type BarrierGateSimulator } from '../../../devices/barrier-gate/simulator.js';
import { DeviceCommandError } from '../../../devices/types.js';
import { command, harness, waitFor, type Harness } from './harness.js';

const USER = 'admin';
const PASS = 'Barrier#2026';
const LANES = [
  { lane: 1, direction: 'in' },
  { lane: 2, direction: 'out' },
];

describe('hikvision-anpr commands against the simulated camera (ISAPI, Digest)', () => {
  let h: Harness;
  let sim: BarrierGateSimulator;
  let address: string;

  beforeAll(async () => {
    h = await harness(async (url) => {
      sim = createBarrierGateSimulator({ target: url('/anpr/barrier-1') });
      address = await sim.listen({ username: USER, password: PASS });
      return { lanes: LANES, address, username: USER, password: PASS, commandTimeoutMs: 1_000 };
    });
  });
  afterAll(async () => {
    await sim.close();
    await h.stop();
  });

  it('opens the barrier: the camera carries it out and pushes barrier.opened', async () => {
    const before = h.drafts.length;
    await expect(h.driver.execute(command('barrier.open', { lane: 1 }))).resolves.toEqual({ lane: 1, ctrlMode: 'open' });
    expect(sim.executions().map((e) => [e.lane, e.ctrlMode])).toEqual([[1, 'open']]);
    await waitFor(() => h.drafts.length > before, 'barrier.opened push');
    expect(h.drafts.at(-1)).toMatchObject({ type: 'barrier.opened', data: { lane: 1 } });
  });

  it('closes the barrier of lane 2', async () => {
    const before = h.drafts.length;
    await expect(h.driver.execute(command('barrier.close', { lane: 2 }))).resolves.toEqual({ lane: 2, ctrlMode: 'close' });
    expect(sim.executions().at(-1)).toMatchObject({ lane: 2, ctrlMode: 'close' });
    await waitFor(() => h.drafts.length > before, 'barrier.closed push');
    expect(h.drafts.at(-1)).toMatchObject({ type: 'barrier.closed', data: { lane: 2 } });
  });

  it('plates.set replaces the lists on the camera, and its next reads use them', async () => {
    await expect(h.driver.execute(command('plates.set', { allow: ['苏E11111', '京A12345'], block: ['京A12345', '浙F22222'] }))).resolves.toEqual({
      allow: 1,
      block: 2,
      requests: 2,
    });
    const lists = sim.lists();
    expect(lists.allow.sort()).toEqual(['苏E11111']);
    expect(lists.block.sort()).toEqual(['京A12345', '浙F22222'].sort());

    // 京A12345 was allowed before: now the camera matches it on its blockList.
    const wasAllowed = await sim.send('allow-in', { plate: '京A12345' });
    expect(wasAllowed.list).toBe('blockList');
    expect(h.drafts.at(-1)).toMatchObject({ type: 'vehicle.denied', data: { plate: '京A12345', list: 'block', reason: 'blocklist' } });
    const before = h.drafts.length;
    await sim.send('allow-in', { plate: '苏E11111' });
    expect(h.drafts[before]).toMatchObject({ type: 'vehicle.entered', data: { plate: '苏E11111', list: 'allow' } });
    // An allowList read makes the camera raise the barrier itself and push it.
    await waitFor(() => h.drafts.slice(before).some((d) => d.type === 'barrier.opened'), 'auto-open push');
  });

  it('sends large lists in batches and an empty replace clears them', async () => {
    const allow = Array.from({ length: LIST_BATCH + 5 }, (_, i) => `京Q${String(10000 + i)}`);
    const requests = sim.listRequests();
    await expect(h.driver.execute(command('plates.set', { allow, block: [] }))).resolves.toMatchObject({ allow: LIST_BATCH + 5, requests: 3 });
    expect(sim.listRequests()).toBe(requests + 3);
    expect(sim.lists().allow).toHaveLength(LIST_BATCH + 5);
    await h.driver.execute(command('plates.set', {}));
    expect(sim.lists()).toEqual({ allow: [], block: [] });
  });

  it('reports the camera refusing a barrier command (ResponseStatus statusCode 4)', async () => {
    const count = sim.executions().length;
    sim.failNext(1);
    const err = await h.driver.execute(command('barrier.open')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceCommandError);
    expect(err).toMatchObject({ code: 'RB_ERR_DEVICE_FAILED', message: expect.stringContaining('Invalid Operation (invalidOperation); statusCode 4') as unknown });
    expect(sim.executions().length).toBe(count);
  });

  it('reports the camera refusing a list request (Device Error)', async () => {
    sim.failNext(1);
    await expect(h.driver.execute(command('plates.set', { allow: ['苏E11111'] }))).rejects.toMatchObject({
      code: 'RB_ERR_DEVICE_FAILED',
      message: expect.stringContaining('Device Error') as unknown,
    });
  });

  it('times out on a camera that does not answer in time', async () => {
    sim.setDelay(1_300);
    try {
      await expect(h.driver.execute(command('barrier.open'))).rejects.toMatchObject({ code: 'RB_ERR_DEVICE_TIMEOUT' });
    } finally {
      sim.setDelay(0);
    }
  });

  it('fails clearly on wrong credentials, and without any', async () => {
    for (const [opts, text] of [
      [{ username: USER, password: 'wrong' }, '401 after Digest auth'],
      [{}, 'requires authentication'],
    ] as const) {
      const other = await harness({ address, ...opts }, 'barrier-2');
      try {
        const count = sim.executions().length;
        await expect(other.driver.execute(command('barrier.open'))).rejects.toMatchObject({
          code: 'RB_ERR_DEVICE_FAILED',
          message: expect.stringContaining(text) as unknown,
        });
        expect(sim.executions().length).toBe(count);
      } finally {
        await other.stop();
      }
    }
  });

  it('says which option is missing without an address', async () => {
    const other = await harness({}, 'barrier-3');
    try {
      await expect(other.driver.execute(command('barrier.open'))).rejects.toThrow(/options\.address/);
    } finally {
      await other.stop();
    }
  });
});

describe('anpr command bodies', () => {
  it('builds the BarrierGate document', () => {
    expect(barrierGateXml('open')).toContain('<BarrierGate version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><ctrlMode>open</ctrlMode></BarrierGate>');
  });

  it('puts a plate on both lists on the blockList only, once', () => {
    const records = plateRecords(['A', 'B', 'B'], ['B'], Date.UTC(2026, 0, 1));
    expect(records.map((r) => [r.LicensePlate, r.listType])).toEqual([
      ['A', 'allowList'],
      ['B', 'blockList'],
    ]);
    expect(records[0]).toMatchObject({ createTime: '2026-01-01T00:00:00', operationType: 'add' });
  });
});
