import { anprDriverFactory } from '../../../devices/barrier-gate/anpr-driver.js';
import { createBarrierGateSimulator, DEFAULT_ALLOW, DEFAULT_BLOCK, type SimKind } from '../../../devices/barrier-gate/simulator.js';
import { silentLogger } from '../../../lib/log.js';
import type { EventType } from '../../../protocol/index.js';
import { describeDriver } from '../conformance.js';

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
    let beating: NodeJS.Timeout | undefined;
    const beat = (): void => void sim.heartbeat().catch(() => undefined);
    const goOnline = async (): Promise<void> => {
      clearInterval(beating);
      beat();
      beating = setInterval(beat, 100);
    };
    await goOnline();
    return {
      options: { address, username: 'admin', password: 'conf-pass-1', lanes: [{ lane: 1, direction: 'in' }, { lane: 2, direction: 'out' }] },
      async produce(type) {
        const kind = KIND[type];
        if (kind === undefined) throw new Error(`the simulator cannot produce ${type}`);
        const answer = await sim.send(kind);
        if (answer.status !== 200) throw new Error(`driver answered ${answer.status}: ${answer.body}`);
      },
      commandArgs: (name) => (name === 'plates.set' ? { allow: DEFAULT_ALLOW, block: DEFAULT_BLOCK } : { lane: 1 }),
      executed(name) {
        if (name === 'plates.set') return sim.listClears();
        const mode = name === 'barrier.open' ? 'open' : 'close';
        return sim.executions().filter((e) => e.ctrlMode === mode).length;
      },
      goOffline: async () => clearInterval(beating),
      goOnline,
      async sendGarbage() {
        await sim.sendRaw('<EventNotificationAlert><eventType>ANPR</eventType><ANPR>', 'application/xml');
        await sim.sendRaw(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 'multipart/form-data; boundary=MIME_boundary');
      },
      async teardown() {
        clearInterval(beating);
        await sim.close();
      },
    };
  },
});
