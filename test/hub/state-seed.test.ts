import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/index.js';
import { makeEvent, publishOutcome, startTestHub, type TestHub } from '../support/hub.js';

/** A restarted hub seeds doors and today's occupancy from its store before any gateway returns. */
const dir = mkdtempSync(join(tmpdir(), 'rb-state-seed-'));
const hubs: TestHub[] = [];
afterAll(async () => {
  for (const h of hubs) await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('live state after a hub restart', () => {
  it('rebuilds doors, barriers and occupancy from the store', async () => {
    const first = await startTestHub({ dataDir: dir });
    hubs.push(first);
    const creds = await first.provision('elm-court', 'gw-1');
    const client = await first.connect(creds);
    const send = async (e: ReturnType<typeof makeEvent>) =>
      expect(await publishOutcome(client, topics.device('event', e.estate, e.gateway, e.device), JSON.stringify(e))).toBe('acked');
    const base = { estate: 'elm-court', gateway: 'gw-1' };
    await send(makeEvent({ ...base, device: 'gate-1', type: 'door.opened', data: { door: 1 }, ts: Date.now() - 2000 }));
    await send(makeEvent({ ...base, device: 'gate-1', type: 'door.forced', data: { door: 2 } }));
    for (const type of ['vehicle.entered', 'vehicle.entered', 'vehicle.exited'] as const) {
      await send(makeEvent({ ...base, device: 'barrier-1', type, data: { lane: 1, list: 'allow' } }));
    }
    await send(makeEvent({ ...base, device: 'barrier-1', type: 'barrier.fault', data: { lane: 1, reason: 'motor' } }));
    await first.stop();

    const second = await startTestHub({ dataDir: dir });
    hubs.push(second);
    const res = await fetch(`${second.httpUrl}/api/v1/state/estates/elm-court`, { headers: { authorization: `Bearer ${second.apiToken}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { doors: unknown[]; barriers: unknown[]; occupancy: unknown; gateways: unknown[] };
    expect(body.doors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ device: 'gate-1', door: 1, state: 'open' }),
        expect.objectContaining({ device: 'gate-1', door: 2, state: 'forced' }),
      ]),
    );
    expect(body.barriers).toEqual([expect.objectContaining({ device: 'barrier-1', lane: 1, state: 'fault', reason: 'motor' })]);
    expect(body.occupancy).toMatchObject({ count: 1, entered: 2, exited: 1 });
    expect(body.gateways).toEqual([]); // comes back with the gateway's status on reconnect
  });
});
