import { onvifDriverFactory } from '../../../devices/onvif-camera/driver.js';
import type { SimEventKind } from '../../../devices/onvif-camera/simulator.js';
import type { CommandName, EventType } from '../../../protocol/index.js';
import { describeDriver } from '../conformance.js';
import { FAST, PASS, startSim, USER } from './harness.js';

const KIND: Readonly<Partial<Record<EventType, SimEventKind>>> = {
  'camera.motion': 'motion',
  'camera.tamper': 'tamper',
  'camera.signalLoss': 'signalLoss',
};
const OP: Readonly<Partial<Record<CommandName, string>>> = { 'ptz.move': 'ContinuousMove', 'ptz.stop': 'Stop', 'ptz.preset': 'GotoPreset' };

/**
 * ONVIF camera: events are raised into the simulator's pull points; device.offline / device.online
 * come from the health poll when the simulated camera is unplugged and back.
 */
describeDriver('onvif', {
  factory: onvifDriverFactory,
  // Requests may take 5 s here (FAST's 1 s elsewhere): the simulator encodes a 640×360 JPEG per
  // snapshot in JavaScript, which on a loaded 2-core machine once took longer than 1 s. Going offline
  // is seen just as fast: the unplugged simulator drops connections at once.
  fastOptions: { ...FAST, requestTimeoutMs: 5_000 },
  // Longer than one request: after garbage the next pull may wait out a slow request first (a CI run on a
  // loaded machine saw no event within 3 s).
  waitMs: 8_000,
  async setup() {
    const sim = await startSim({ clockOffsetMs: 90_000 });
    return {
      options: { address: sim.deviceUrl(), username: USER, password: PASS },
      async produce(type) {
        if (type === 'device.offline') return sim.goOffline();
        if (type === 'device.online') return sim.goOnline();
        const kind = KIND[type];
        if (!kind) throw new Error(`the simulator cannot produce ${type}`);
        sim.raise(kind, true);
      },
      commandArgs: (name): Record<string, unknown> => (name === 'ptz.preset' ? { preset: '1' } : name === 'ptz.move' ? { pan: 0.3 } : {}),
      executed: (name) => (name === 'camera.snapshot' ? sim.snapshots() : sim.executions().filter((e) => e.op === OP[name]).length),
      goOffline: async () => sim.goOffline(),
      goOnline: async () => sim.goOnline(),
      async sendGarbage() {
        sim.garbageNext(1);
        await new Promise((r) => setTimeout(r, 150));
      },
      teardown: () => sim.stop(),
    };
  },
});
