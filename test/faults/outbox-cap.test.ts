import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator } from '../../devices/access-gate/simulator.js';
import type { Gateway } from '../../gateway/main.js';
import { isAlarmType, type GatewayStatus, type RbEvent } from '../../protocol/index.js';
import { gatewayConfig, startGatewayInProcess } from '../support/gateway.js';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const CAP = 300;
const ROUTINE = 600;
const ALARMS = 60;

describe('outbox at its cap while the uplink is down', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-cap-'));
  let hub: TestHub | undefined;
  let gateway: Gateway | undefined;
  let proxy: TcpProxy | undefined;
  afterAll(async () => {
    await gateway?.stop();
    await proxy?.close();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every alarm, drops the oldest routine events, counts and reports the drops', async () => {
    hub = await startTestHub();
    const statuses: GatewayStatus[] = [];
    // What the hub had stored of pressure events when each status came: the closing event must be in before the
    // status that ends the pressure (or the hub would reopen the alert of an episode that is over).
    const pressureSeen: RbEvent[] = [];
    const pressureBefore = new Map<GatewayStatus, number>();
    hub.hub.bus.on('event', (e) => void (e.type === 'gateway.outbox.pressure' && pressureSeen.push(e)));
    hub.hub.bus.on('gateway.status', (s) => {
      statuses.push(s);
      pressureBefore.set(s, pressureSeen.length);
    });
    proxy = await startTcpProxy(hub.mqttPort);
    proxy.setDown(true); // the estate's uplink is down from the start
    const creds = await hub.provision('cap-estate', 'gw-1');
    gateway = await startGatewayInProcess(
      gatewayConfig({ creds, mqttPort: proxy.port, dataDir: join(dir, 'gw'), outbox: { maxRecords: CAP }, heartbeatS: 1 }),
      { pressure: { quietMs: 2_000 } },
    );
    const sim = createAccessGateSimulator({ target: `http://127.0.0.1:${gateway.pushAddress().port}/isapi/gate-1`, deviceName: 'gate-1', format: 'json' });
    const t0 = Date.now() - 86_400_000;
    // Routine traffic with an alarm every 10th event: twice what the outbox may hold.
    for (let i = 0; i < ROUTINE + ALARMS; i++) {
      const alarm = i % 11 === 10;
      const sent = await sim.send(alarm ? 'forced' : 'card-ok', { serialNo: i + 1, at: t0 + i * 1000 });
      expect(sent.status).toBe(200);
    }
    sim.stop();
    const atCap = gateway.outbox.stats();
    expect(atCap.depth).toBeLessThanOrEqual(CAP + ALARMS + 5); // routine at most the cap; alarms may exceed it
    expect(atCap.droppedTotal).toBeGreaterThanOrEqual(ROUTINE + ALARMS - CAP);
    expect(gateway.status().outbox?.pressure).toBe(true);

    proxy.setDown(false);
    await waitFor(() => gateway!.outbox.stats().depth === 0, 30_000);
    const stored = await hub.hub.store.query({ estate: 'cap-estate', limit: 10_000 });
    const alarms = stored.filter((e) => e.type === 'door.forced');
    const routine = stored.filter((e) => e.type === 'access.granted');
    const pressure = stored.filter((e) => e.type === 'gateway.outbox.pressure') as Array<Extract<RbEvent, { type: 'gateway.outbox.pressure' }>>;

    expect(alarms).toHaveLength(ALARMS); // no alarm lost
    const dropped = gateway.outbox.stats().droppedTotal;
    expect(routine.length + dropped).toBe(ROUTINE); // every routine event either arrived or was counted
    // The oldest went first: what arrived is the newest routine traffic.
    const serials = routine.map((e) => (e.data as { source?: { serial?: number } }).source?.serial ?? 0).sort((a, b) => a - b);
    expect(serials[0]).toBeGreaterThan(dropped);
    expect(pressure.length).toBeGreaterThanOrEqual(1);
    expect(pressure[0]!.device).toBe('gw-1');
    expect(isAlarmType(pressure[0]!.type)).toBe(true);
    expect(pressure[0]!.data).toMatchObject({ reason: 'cap', maxRecords: CAP });
    expect(pressure[0]!.data.droppedTotal).toBeGreaterThan(0);
    // The status the hub holds says so too.
    await waitFor(() => statuses.some((s) => s.outbox?.pressure === true && s.outbox.droppedTotal === dropped), 10_000);
    expect(statuses.some((s) => s.outbox?.pressure === true && s.outbox.droppedTotal === dropped)).toBe(true);

    // The first event was made at the first drop; the closing one, once the drops stopped, has the true count.
    expect(pressure[0]!.data.droppedTotal).toBeLessThan(dropped);
    const over = (s: GatewayStatus): boolean => s.outbox?.pressure === false && s.outbox.droppedTotal === dropped;
    expect(await waitFor(() => statuses.some(over), 15_000)).toBe(true);
    const all = (await hub.hub.store.query({ estate: 'cap-estate', type: 'gateway.outbox.pressure', limit: 100 })) as typeof pressure;
    const last = all.reduce((a, b) => (b.data.droppedTotal > a.data.droppedTotal ? b : a));
    expect(last.data).toMatchObject({ droppedTotal: dropped, droppedSinceStart: dropped });
    const firstOver = statuses.find(over)!;
    expect(pressureSeen.slice(0, pressureBefore.get(firstOver)).some((e) => (e.data as { droppedTotal: number }).droppedTotal === dropped)).toBe(true);
    expect(gateway.status().outbox?.pressure).toBe(false);
  }, 90_000);
});
