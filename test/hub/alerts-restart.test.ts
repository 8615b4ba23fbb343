import { afterAll, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/index.js';
import { makeEvent, publishOutcome, startTestHub, waitFor, type TestHub } from '../support/hub.js';

/**
 * The rules' memory lives in the hub process. After a restart, alerts still open in the store —
 * acknowledged ones included — must be resolved by their clearing condition (the door closing).
 */
describe('alerts across a hub restart', () => {
  const hubs: TestHub[] = [];
  afterAll(async () => {
    for (const h of hubs.reverse()) await h.stop();
  });

  it('an acknowledged forced-door alert opened before the restart is resolved when the door closes after it', async () => {
    const first = await startTestHub();
    hubs.push(first);
    first.hub.registry.addEstate('estate-a');
    expect((await first.api('PUT', '/api/v1/estates/estate-a/alert-settings', { body: { clearAfterS: 0 } })).status).toBe(200);
    const creds = await first.provision('estate-a', 'gw-1');
    const gw = await first.connect(creds);
    const forced = makeEvent({ type: 'door.forced', data: { door: 2 } });
    expect(await publishOutcome(gw, topics.event('estate-a', 'gw-1', 'gate-1'), JSON.stringify(forced))).toBe('acked');
    let id = '';
    await waitFor(async () => {
      const items = (await first.api('GET', '/api/v1/alerts?estate=estate-a')).json.items as Array<{ id: string }>;
      id = items[0]?.id ?? '';
      return id !== '';
    });
    expect((await first.api('POST', `/api/v1/alerts/${id}/ack`, { body: {} })).status).toBe(200);

    const ports = { httpPort: Number(new URL(first.httpUrl).port), mqttPort: first.mqttPort };
    const dataDir = first.dataDir;
    await first.hub.stop();
    const second = await startTestHub({ dataDir, ...ports });
    hubs.push(second);
    const gw2 = await second.connect(creds);
    const closed = makeEvent({ type: 'door.closed', data: { door: 2 } });
    expect(await publishOutcome(gw2, topics.event('estate-a', 'gw-1', 'gate-1'), JSON.stringify(closed))).toBe('acked');
    const resolved = await waitFor(async () => (await second.api('GET', `/api/v1/alerts/${id}`)).json.state === 'resolved', 5_000);
    expect(resolved).toBe(true);
    expect((await second.api('GET', `/api/v1/alerts/${id}`)).json).toMatchObject({ state: 'resolved', resolvedBy: 'system', resolution: 'cleared' });
  }, 30_000);
});
