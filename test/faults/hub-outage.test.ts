import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator, type SimKind } from '../../devices/access-gate/simulator.js';
import type { Gateway } from '../../gateway/main.js';
import { isAlarmType, type RbEvent } from '../../protocol/index.js';
import { gatewayConfig, sendUntilOk, startGatewayInProcess } from '../support/gateway.js';
import { sleep, startTestHub, waitFor, type TestHub } from '../support/hub.js';

/** The outage lasts RB_FAULT_SECONDS (default 60, as the issue asks); the fault is a real stopped hub. */
const OUTAGE_MS = Number(process.env.RB_FAULT_SECONDS ?? 60) * 1000;
const TOTAL = 5_000;
/** Flow before the hub stops and after it returns (was 10 % and 30 % of the outage: 24 s of a 84 s test). */
const LEAD_MS = 3_000;
const TAIL_MS = 4_000;
const DEVICES = ['gate-1', 'gate-2'];
const KINDS: SimKind[] = ['card-ok', 'door-open', 'door-close', 'face-ok', 'door-open', 'door-close', 'card-unknown', 'forced', 'card-ok', 'held'];

describe('hub stopped while 5,000 events flow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-outage-'));
  let hub: TestHub | undefined;
  let gateway: Gateway | undefined;
  afterAll(async () => {
    await gateway?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every event after the hub returns, alarms first, per-device order kept', async () => {
    const hubDir = join(dir, 'hub');
    hub = await startTestHub({ dataDir: hubDir });
    const { httpPort, mqttPort } = { httpPort: Number(new URL(hub.httpUrl).port), mqttPort: hub.mqttPort };
    const creds = await hub.provision('outage-estate', 'gw-1');
    gateway = await startGatewayInProcess(gatewayConfig({ creds, mqttPort, dataDir: join(dir, 'gw'), devices: DEVICES.map((id) => ({ id })) }));
    const pushPort = gateway.pushAddress().port;
    const sims = DEVICES.map((id) => createAccessGateSimulator({ target: `http://127.0.0.1:${pushPort}/isapi/${id}`, deviceName: id, format: 'json' }));

    // Events flow at an even rate over: a few seconds before the outage, the outage itself, and a few
    // seconds after it (new events behind the backlog). Short lead and tail: the outage is what is tested.
    const perDevice = TOTAL / DEVICES.length;
    const spanMs = LEAD_MS + OUTAGE_MS + TAIL_MS;
    const t0 = Date.now();
    const flow = sims.map(async (sim, d) => {
      for (let i = 0; i < perDevice; i++) {
        const due = t0 + (i / perDevice) * spanMs;
        if (due > Date.now()) await sleep(due - Date.now());
        await sendUntilOk(sim, KINDS[i % KINDS.length]!, { serialNo: i + 1, at: t0 - 86_400_000 + i * 1000 + d });
      }
    });
    await sleep(LEAD_MS);
    await hub.stop();
    // What the gateway holds right after the cut includes what was in flight then (mqtt.js re-sends
    // those first, as it must); what it holds at the restart minus that was queued during the outage.
    await sleep(500);
    const queued = (g: Gateway) => new Set(g.outbox.read({ alarm: 0, routine: 0 }, 1_000_000).map((e) => e.id));
    const atCut = queued(gateway);
    await sleep(OUTAGE_MS - 500);
    const atRestart = queued(gateway);
    const depthBeforeRestart = atRestart.size;
    // Same data dir and ports: the gateway reconnects to "the hub" as after a real restart.
    hub = await startTestHub({ dataDir: hubDir, httpPort, mqttPort });
    const arrivals: RbEvent[] = [];
    hub.hub.bus.on('event', (e: RbEvent) => void arrivals.push(e));
    await Promise.all(flow);
    sims.forEach((s) => s.stop());
    expect(depthBeforeRestart).toBeGreaterThan(TOTAL * 0.5); // the outage really held most of the flow back

    const store = hub.hub.store;
    await waitFor(async () => (await store.query({ estate: 'outage-estate', limit: 20_000 })).length >= TOTAL, 60_000, 250);
    const stored = await store.query({ estate: 'outage-estate', limit: 20_000 });
    expect(stored).toHaveLength(TOTAL);
    expect(new Set(stored.map((e) => e.id)).size).toBe(TOTAL);

    // The backlog replayed after the restart: events queued during the outage. Alarms went first.
    const backlog = arrivals.filter((e) => atRestart.has(e.id) && !atCut.has(e.id));
    const firstRoutine = backlog.findIndex((e) => !isAlarmType(e.type));
    const lastAlarm = backlog.map((e) => isAlarmType(e.type)).lastIndexOf(true);
    expect(backlog.length).toBeGreaterThan(TOTAL * 0.5);
    expect(lastAlarm).toBeGreaterThanOrEqual(0);
    expect(lastAlarm, 'every queued alarm arrives before the first queued routine event').toBeLessThan(firstRoutine);
    // Within each lane, each device's events arrive in the order they happened.
    for (const device of DEVICES) {
      for (const alarm of [true, false]) {
        const seqs = arrivals.filter((e) => e.device === device && isAlarmType(e.type) === alarm).map((e) => e.seq);
        expect(seqs, `${device} ${alarm ? 'alarms' : 'routine'} in order`).toEqual([...seqs].sort((a, b) => a - b));
      }
    }
  }, OUTAGE_MS * 3 + 120_000);
});
