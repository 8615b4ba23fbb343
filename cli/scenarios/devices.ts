import { connect } from 'node:net';
import { createAccessGateSimulator, type SimKind as IsapiKind } from '../../devices/access-gate/simulator.js';
import { createZktecoSimulator, type ZkSimKind } from '../../devices/access-gate/zkteco-simulator.js';
import { createBarrierGateSimulator, type SimKind as AnprKind } from '../../devices/barrier-gate/simulator.js';
import { RtspSimulatorUnavailable, startRtspSimulator, type RtspSimulator } from '../../devices/onvif-camera/rtsp-sim.js';
import { createOnvifSimulator, type SimEventKind } from '../../devices/onvif-camera/simulator.js';
import type { RepostOptions } from '../../devices/sim/repost.js';
import type { EstatePlan, PushDevicePlan } from './plan.js';
import type { CameraStep, DeviceKind } from './scenarios.js';

/**
 * One simulated device of the plan behind one small interface: `send` carries out one scenario
 * step the way the real device does it and says whether the gateway took it (HTTP 200; for a
 * camera, a live pull-point subscription of the gateway's driver to queue the notification in).
 * A camera also takes the steps `offline` and `online` (it stops answering, then answers again),
 * which send nothing and resolve true.
 */
export interface SimDevice {
  estate: string;
  kind: DeviceKind;
  label: string;
  /** Resolves true once the device can deliver (cameras: the driver subscribed), false at the deadline. */
  ready(deadline: number, signal: AbortSignal): Promise<boolean>;
  /** `plate`: the plate of a barrier step (a visitor of the incident script), else the simulator's choice. */
  send(step: string, opts?: { plate?: string }): Promise<boolean>;
  close(): Promise<void>;
}

const base = (url: string): string => url.replace(/\/+$/, '');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface DeviceOptions {
  format: 'json' | 'multipart';
  timeoutMs: number;
  /** Access gates and barriers re-post an event the gateway did not take (sim/repost.ts); none: one post. */
  retry?: Omit<RepostOptions, 'onRepost'> | undefined;
  /** Each re-post, by estate. */
  onRepost?: (estate: string) => void;
}

/** Whether something listens at host:port (one TCP connect, closed at once). */
function listening(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const socket = connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port, timeout: 1_000 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/**
 * Devices that push wait for their gateway's listener before the first event (a demo starts the
 * devices first, then the gateways), up to the deadline; then they go anyway and re-post if need be.
 */
function gatewayUp(url: string): SimDevice['ready'] {
  let up: Promise<boolean> | undefined;
  return (deadline, signal) =>
    (up ??= (async () => {
      while (Date.now() < deadline && !signal.aborted && !(await listening(new URL(url)))) await sleep(200);
      return true;
    })());
}

/** The device's own ISAPI server, when the plan gives it a port. */
async function listenIfAsked(d: PushDevicePlan, e: EstatePlan, sim: { listen(o: { host: string; port: number; username: string; password: string }): Promise<string> }): Promise<void> {
  if (d.port === undefined) return;
  await sim.listen({ host: d.host, port: d.port, username: d.username, password: d.password }).catch((err: unknown) => {
    throw new Error(`--plan: device ${e.estate}/${d.id} cannot listen on ${d.host}:${d.port}: ${(err as Error).message}`);
  });
}

let warnedNoVideo = false;

/** The camera's RTSP stream when the plan asks for it; without GStreamer: none, and one warning for the run. */
async function cameraStream(c: EstatePlan['cameras'][number], e: EstatePlan): Promise<RtspSimulator | undefined> {
  if (!c.rtsp) return undefined;
  try {
    return await startRtspSimulator({ host: c.host, port: c.rtspPort, username: c.username, password: c.password });
  } catch (err) {
    if (!(err instanceof RtspSimulatorUnavailable)) throw err;
    // The message names the Debian packages when they are the cause (rtsp-sim.ts).
    if (!warnedNoVideo) process.stderr.write(`simulate: camera ${e.estate}/${c.id} runs without live video: ${err.message}\n`);
    warnedNoVideo = true;
    return undefined;
  }
}

export async function createDevices(e: EstatePlan, o: DeviceOptions): Promise<SimDevice[]> {
  const out: SimDevice[] = [];
  const url = base(e.gatewayUrl);
  const retry = o.retry && { retry: { ...o.retry, onRepost: () => o.onRepost?.(e.estate) } };
  const ready = gatewayUp(url);
  try {
    for (const [i, d] of e.accessGates.entries()) {
      const sim = createAccessGateSimulator({ target: `${url}/isapi/${d.id}`, deviceName: d.id, ipAddress: `192.168.1.${10 + i}`, format: o.format, timeoutMs: o.timeoutMs });
      out.push({
        estate: e.estate,
        kind: 'isapi',
        label: d.id,
        ready,
        send: async (step) => (await sim.send(step as IsapiKind, { ...retry })).status === 200,
        close: async () => {
          await sim.close();
          sim.stop();
        },
      });
      await listenIfAsked(d, e, sim);
    }
    for (const sn of e.zkteco) {
      const sim = createZktecoSimulator({ serverUrl: url, serialNumber: sn, timeoutMs: o.timeoutMs });
      sim.start();
      out.push({
        estate: e.estate,
        kind: 'zkteco',
        label: sn,
        ready,
        // The ADMS server answers "OK" when it took the records.
        send: async (step) => {
          const a = await sim.send(step as ZkSimKind, { ...retry });
          return a.status === 200 && a.body.trim().startsWith('OK');
        },
        close: () => sim.stop(),
      });
    }
    for (const [i, d] of e.barriers.entries()) {
      const sim = createBarrierGateSimulator({ target: `${url}/anpr/${d.id}`, deviceName: d.id, ipAddress: `192.168.2.${10 + i}`, timeoutMs: o.timeoutMs });
      let lane = 1; // the barrier that moves is the one of the last vehicle's lane (1 in, 2 out)
      out.push({
        estate: e.estate,
        kind: 'anpr',
        label: d.id,
        ready,
        send: async (step, s) => {
          const kind = step as AnprKind;
          if (kind.startsWith('barrier') || kind === 'fault') return (await sim.send(kind, { lane, ...retry })).status === 200;
          lane = kind === 'allow-out' || kind === 'visitor-out' ? 2 : 1;
          return (await sim.send(kind, { ...(s?.plate !== undefined && { plate: s.plate }), ...retry })).status === 200;
        },
        close: () => sim.close(),
      });
      await listenIfAsked(d, e, sim);
    }
    for (const c of e.cameras) {
      const rtsp = await cameraStream(c, e);
      const sim = createOnvifSimulator({ host: c.host, port: c.port, username: c.username, password: c.password, name: c.id, discoveryPort: false, rtspUrl: rtsp?.url('') });
      await sim.start().catch(async (err: unknown) => {
        await rtsp?.stop();
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
          if (step === 'offline' || step === 'online') {
            if (step === 'offline') sim.goOffline();
            else sim.goOnline();
            return true;
          }
          if (sim.subscriptions() === 0) return false;
          const [kind, state] = (step as CameraStep).split('-') as [SimEventKind, 'on' | 'off'];
          sim.raise(kind, state === 'on');
          return true;
        },
        close: async () => {
          await sim.stop();
          await rtsp?.stop();
        },
      });
    }
  } catch (err) {
    await Promise.allSettled(out.map((d) => d.close()));
    throw err;
  }
  return out;
}
