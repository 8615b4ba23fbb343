import { createAccessGateSimulator, type SimKind as IsapiKind } from '../../devices/access-gate/simulator.js';
import { createZktecoSimulator, type ZkSimKind } from '../../devices/access-gate/zkteco-simulator.js';
import { createBarrierGateSimulator, type SimKind as AnprKind } from '../../devices/barrier-gate/simulator.js';
import { createOnvifSimulator, type SimEventKind } from '../../devices/onvif-camera/simulator.js';
import type { RepostOptions } from '../../devices/sim/repost.js';
import type { EstatePlan } from './plan.js';
import type { CameraStep, DeviceKind } from './scenarios.js';

/**
 * One simulated device of the plan behind one small interface: `send` carries out one scenario
 * step the way the real device does it and says whether the gateway took it (HTTP 200; for a
 * camera, a live pull-point subscription of the gateway's driver to queue the notification in).
 */
export interface SimDevice {
  estate: string;
  kind: DeviceKind;
  label: string;
  /** Resolves true once the device can deliver (cameras: the driver subscribed), false at the deadline. */
  ready(deadline: number, signal: AbortSignal): Promise<boolean>;
  send(step: string): Promise<boolean>;
  close(): Promise<void>;
}

const base = (url: string): string => url.replace(/\/+$/, '');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const always = (): Promise<boolean> => Promise.resolve(true);

export interface DeviceOptions {
  format: 'json' | 'multipart';
  timeoutMs: number;
  /** Access gates and barriers re-post an event the gateway did not take (sim/repost.ts); none: one post. */
  retry?: Omit<RepostOptions, 'onRepost'> | undefined;
  /** Each re-post, by estate. */
  onRepost?: (estate: string) => void;
}

export async function createDevices(e: EstatePlan, o: DeviceOptions): Promise<SimDevice[]> {
  const out: SimDevice[] = [];
  const url = base(e.gatewayUrl);
  const retry = o.retry && { retry: { ...o.retry, onRepost: () => o.onRepost?.(e.estate) } };
  e.accessGates.forEach((id, i) => {
    const sim = createAccessGateSimulator({ target: `${url}/isapi/${id}`, deviceName: id, ipAddress: `192.168.1.${10 + i}`, format: o.format, timeoutMs: o.timeoutMs });
    out.push({
      estate: e.estate,
      kind: 'isapi',
      label: id,
      ready: always,
      send: async (step) => (await sim.send(step as IsapiKind, { ...retry })).status === 200,
      close: async () => sim.stop(),
    });
  });
  for (const sn of e.zkteco) {
    const sim = createZktecoSimulator({ serverUrl: url, serialNumber: sn, timeoutMs: o.timeoutMs });
    sim.start();
    out.push({
      estate: e.estate,
      kind: 'zkteco',
      label: sn,
      ready: always,
      // The ADMS server answers "OK" when it took the records.
      send: async (step) => {
        const a = await sim.send(step as ZkSimKind, { ...retry });
        return a.status === 200 && a.body.trim().startsWith('OK');
      },
      close: () => sim.stop(),
    });
  }
  e.barriers.forEach((id, i) => {
    const sim = createBarrierGateSimulator({ target: `${url}/anpr/${id}`, deviceName: id, ipAddress: `192.168.2.${10 + i}`, timeoutMs: o.timeoutMs });
    let lane = 1; // the barrier that moves is the one of the last vehicle's lane (1 in, 2 out)
    out.push({
      estate: e.estate,
      kind: 'anpr',
      label: id,
      ready: always,
      send: async (step) => {
        const kind = step as AnprKind;
        if (kind.startsWith('barrier') || kind === 'fault') return (await sim.send(kind, { lane, ...retry })).status === 200;
        lane = kind === 'allow-out' ? 2 : 1;
        return (await sim.send(kind, { ...retry })).status === 200;
      },
      close: () => sim.close(),
    });
  });
  for (const c of e.cameras) {
    const sim = createOnvifSimulator({ host: c.host, port: c.port, username: c.username, password: c.password, discoveryPort: false });
    await sim.start().catch((err: unknown) => {
      throw new Error(`--plan: camera ${e.estate}/${c.id} cannot listen on ${c.host}:${c.port}: ${(err as Error).message}`);
    });
    out.push({
      estate: e.estate,
      kind: 'onvif',
      label: c.id,
      async ready(deadline, signal) {
        while (sim.subscriptions() === 0 && Date.now() < deadline && !signal.aborted) await sleep(100);
        return sim.subscriptions() > 0;
      },
      send: async (step) => {
        if (sim.subscriptions() === 0) return false;
        const [kind, state] = (step as CameraStep).split('-') as [SimEventKind, 'on' | 'off'];
        sim.raise(kind, state === 'on');
        return true;
      },
      close: () => sim.stop(),
    });
  }
  return out;
}
