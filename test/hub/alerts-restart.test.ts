import { afterAll, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/index.js';
import { makeEvent, publishOutcome, startTestHub, waitFor, type TestHub } from '../support/hub.js';

/**
 * The rules' memory lives in the hub process. After a restart, alerts still open in the store —
 * acknowledged ones included — must still see their clearing condition (the door closing): a state
 * rule (door.held) is resolved by it, an alarm (door.forced) is stamped and waits for a person.
 */
describe('alerts across a hub restart', () => {
  const hubs: TestHub[] = [];
  afterAll(async () => {
    for (const h of hubs.reverse()) await h.stop();
  });

  it('an acknowledged forced-door alert opened before the restart is stamped when the door closes after it; a held door resolves', async () => {
    const first = await startTestHub();
    hubs.push(first);
    await first.hub.registry.addEstate('estate-a');
    expect((await first.api('PUT', '/api/v1/estates/estate-a/alert-settings', { body: { clearAfterS: 0 } })).status).toBe(200);
    const creds = await first.provision('estate-a', 'gw-1');
    const gw = await first.connect(creds);
    const forced = makeEvent({ type: 'door.forced', data: { door: 2 } });
    expect(await publishOutcome(gw, topics.event('estate-a', 'gw-1', 'gate-1'), JSON.stringify(forced))).toBe('acked');
    const held = makeEvent({ type: 'door.held', device: 'gate-2', data: { door: 1, heldS: 130 } });
    expect(await publishOutcome(gw, topics.event('estate-a', 'gw-1', 'gate-2'), JSON.stringify(held))).toBe('acked');
    let id = '';
    let heldId = '';
    await waitFor(async () => {
      const items = (await first.api('GET', '/api/v1/alerts?estate=estate-a')).json.items as Array<{ id: string; rule: string }>;
      id = items.find((a) => a.rule === 'door.forced')?.id ?? '';
      heldId = items.find((a) => a.rule === 'door.held')?.id ?? '';
      return id !== '' && heldId !== '';
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
    const heldClosed = makeEvent({ type: 'door.closed', device: 'gate-2', data: { door: 1 } });
    expect(await publishOutcome(gw2, topics.event('estate-a', 'gw-1', 'gate-2'), JSON.stringify(heldClosed))).toBe('acked');
    const stamped = await waitFor(async () => (await second.api('GET', `/api/v1/alerts/${id}`)).json.conditionClearedAt !== undefined, 5_000);
    expect(stamped).toBe(true);
    expect((await second.api('GET', `/api/v1/alerts/${id}`)).json).toMatchObject({ state: 'acknowledged', conditionClearedEvent: closed.id });
    expect(await waitFor(async () => (await second.api('GET', `/api/v1/alerts/${heldId}`)).json.state === 'resolved', 5_000)).toBe(true);
    expect((await second.api('GET', `/api/v1/alerts/${heldId}`)).json).toMatchObject({ state: 'resolved', resolvedBy: 'system', resolution: 'cleared' });
  }, 30_000);
});
