import { anprDriverFactory } from '../../../devices/barrier-gate/anpr-driver.js';
import { createBarrierGateSimulator, DEFAULT_ALLOW, DEFAULT_BLOCK, type SimKind } from '../../../devices/barrier-gate/simulator.js';
import { silentLogger } from '../../../lib/log.js';
import type { EventType } from '../../../protocol/index.js';
import { describeDriver, expectTaken, heartbeats } from '../conformance.js';

/** The simulator kind that produces each profile event (lanes: 1 in, 2 out). */
const KIND: Readonly<Partial<Record<EventType, SimKind>>> = {
  'vehicle.entered': 'allow-in',
  'vehicle.exited': 'allow-out',
  'vehicle.denied': 'block',
  'barrier.opened': 'barrier-open',
  'barrier.closed': 'barrier-close',
  'barrier.fault': 'fault',
};

/**
 * Hikvision ANPR: reads, barrier status and heartbeats are pushes from the simulated camera; commands
 * go to its own Digest-protected ISAPI server. Offline = no more heartbeats, so `offlineAfterMs` runs out.
 */
describeDriver('hikvision-anpr', {
  factory: anprDriverFactory,
  fastOptions: { offlineAfterMs: 300, commandTimeoutMs: 3_000 },
  waitMs: 3_000,
  async setup({ deviceId, pushBase }) {
    const sim = createBarrierGateSimulator({ target: `${pushBase}/anpr/${deviceId}`, autoOpen: false, log: silentLogger() });
    const address = await sim.listen({ username: 'admin', password: 'conf-pass-1', pushOnMove: false });
    const beats = heartbeats(() => sim.heartbeat());
    await beats.goOnline();
    return {
      options: { address, username: 'admin', password: 'conf-pass-1', lanes: [{ lane: 1, direction: 'in' }, { lane: 2, direction: 'out' }] },
      async produce(type) {
        const kind = KIND[type];
        if (kind === undefined) throw new Error(`the simulator cannot produce ${type}`);
        expectTaken(await sim.send(kind));
      },
      commandArgs: (name) => (name === 'plates.set' ? { allow: DEFAULT_ALLOW, block: DEFAULT_BLOCK } : { lane: 1 }),
      executed(name) {
        if (name === 'plates.set') return sim.listClears();
        const mode = name === 'barrier.open' ? 'open' : 'close';
        return sim.executions().filter((e) => e.ctrlMode === mode).length;
      },
      goOffline: beats.goOffline,
      goOnline: beats.goOnline,
      async sendGarbage() {
        await sim.sendRaw('<EventNotificationAlert><eventType>ANPR</eventType><ANPR>', 'application/xml');
        await sim.sendRaw(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 'multipart/form-data; boundary=MIME_boundary');
      },
      async teardown() {
        beats.stop();
        await sim.close();
      },
    };
  },
});
