/**
 * The video benchmark's rig (bench/video.ts), all real and on this machine: the camera simulator's RTSP
 * server (GStreamer, one encoder per stream shape shared by every RTSP client), one ONVIF camera
 * simulator per camera (in this process; they answer GetStreamUri with the RTSP server's /main and
 * /sub), a hub process and gateway processes with the ONVIF driver (one per 64 cameras), all from
 * dist/ through the CLI.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { stringify } from 'yaml';
import { startRtspSimulator, type RtspSimulator, type RtspStreamShape } from '../devices/onvif-camera/rtsp-sim.js';
import { createOnvifSimulator, type OnvifSimulator } from '../devices/onvif-camera/simulator.js';
import { freePort } from '../test/support/ports.js';
import { runCli, sleep, startCliProcess, stopChild } from './lib.js';

export const ESTATE = 'bench-video';
const API_TOKEN = randomBytes(24).toString('base64url');
const CAM = { username: 'bench', password: 'Bench-Camera-2718' };
const USER = { name: 'bench-viewer', password: 'Bench-Viewer-Secret-3141' };
export const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);

export interface Rig {
  sim: RtspSimulator;
  cams: OnvifSimulator[];
  hub: { proc: ChildProcess; http: string; metrics: string };
  /** One gateway process per 64 cameras (a gateway's video.maxStreams is at most 64). */
  gateways: Array<{ proc: ChildProcess; metrics: string }>;
  /** A volunteer's access token (login), for the viewers. */
  token: string;
  /** Stop the simulator (SIGKILL if it hangs) and start it again on the same port. */
  restartSim(): Promise<void>;
  /** The camera devices, cam-1 … cam-N. */
  devices: string[];
  stop(): Promise<void>;
}

async function until(what: string, ms: number, ok: () => Promise<boolean>, alive: () => boolean = () => true): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (!alive()) throw new Error(`${what}: the process exited`);
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(200);
  }
}

async function api(http: string, method: string, path: string, body?: unknown, token = API_TOKEN): Promise<unknown> {
  const res = await fetch(`${http}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

export async function startRig(o: { dir: string; cameras: number; main: RtspStreamShape; sub: RtspStreamShape; fps: number }): Promise<Rig> {
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const simOptions = { main: o.main, sub: o.sub, fps: o.fps, cbr: true, noClockRow: true, noSessionCleanup: process.env.RB_BENCH_SIM_CLEANUP !== "on" };
    let sim = await startRtspSimulator(simOptions);
    stops.push(() => sim.stop());
    const cams: OnvifSimulator[] = [];
    for (let i = 0; i < o.cameras; i++) {
      const cam = createOnvifSimulator({ ...CAM, host: '127.0.0.1', discoveryPort: false, ptz: false, rtspUrl: `rtsp://127.0.0.1:${sim.port}` });
      await cam.start();
      stops.push(() => cam.stop());
      cams.push(cam);
    }

    // The hub: an estate and a volunteer of it (CLI, before it starts), video caps opened for the bench.
    const hubDir = join(o.dir, 'hub');
    await runCli(['hub', 'estate', 'add', '--data-dir', hubDir, '--estate', ESTATE, '--name', 'Video bench']);
    await runCli(['hub', 'user', 'add', '--data-dir', hubDir, '--name', USER.name, '--role', 'volunteer', '--scope', `estate:${ESTATE}`, '--password', USER.password]);
    const hubConfig = join(o.dir, 'hub.yaml');
    writeFileSync(hubConfig, stringify({
      video: { linger: '500ms', maxViewersPerStream: 64, maxStreamsPerEstate: 1000, maxBytesPerSecondPerEstate: 10_000_000_000, maxViewerBufferBytes: 16 * 1024 * 1024 },
    }));
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const hubProc = startCliProcess(['hub', '--config', hubConfig, '--data-dir', hubDir, '--host', '127.0.0.1', '--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--log-level', 'warn'], { RB_API_TOKEN: API_TOKEN });
    stops.push(() => stopChild(hubProc));
    const http = `http://127.0.0.1:${httpPort}`;
    await until('hub /readyz', 60_000, async () => (await fetch(`${http}/readyz`)).ok, () => hubProc.exitCode === null);

    // The gateways: one ONVIF camera per simulator, camera i on gateway i mod G (G = cameras / 64,
    // rounded up: 64 is a gateway's video.maxStreams at most), so any N cameras spread evenly.
    const devices = cams.map((_, i) => `cam-${i + 1}`);
    const count = Math.ceil(cams.length / 64);
    const gateways: Rig['gateways'] = [];
    for (let g = 0; g < count; g++) {
      const creds = (await api(http, 'POST', '/api/v1/admin/gateways', { estate: ESTATE, gateway: `gw-${g + 1}` })) as { username: string; password: string };
      const mine = cams.map((c, i) => ({ c, i })).filter(({ i }) => i % count === g);
      const metricsPort = await freePort();
      const file = join(o.dir, `gateway-${g + 1}.yaml`);
      writeFileSync(file, stringify({
        estate: ESTATE,
        gateway: `gw-${g + 1}`,
        dataDir: join(o.dir, `gateway-${g + 1}`),
        hub: { url: `mqtt://127.0.0.1:${mqttPort}`, httpUrl: http, username: creds.username, password: creds.password, keepaliveS: 30 },
        privacy: { salt: 'bench-video-salt-0123456789' },
        devicePush: { host: '127.0.0.1', port: 0 },
        metrics: { port: metricsPort },
        log: { level: 'warn' },
        video: { maxStreams: mine.length },
        // Health polls and event pulls as slow as allowed: their cost is the idle gateway's, measured apart.
        devices: mine.map(({ c, i }) => ({
          id: devices[i], name: `Camera ${i + 1}`, driver: 'onvif',
          options: { address: c.deviceUrl(), ...CAM, pollMs: 60_000, pullTimeoutS: 60, subscriptionS: 3_600 },
        })),
      }));
      const proc = startCliProcess(['gateway', '--config', file]);
      stops.push(() => stopChild(proc));
      gateways.push({ proc, metrics: `http://127.0.0.1:${metricsPort}/metrics` });
    }
    // Ready: every relay link is up and its hello listed its cameras.
    await until('the gateways\' relay links with every camera', 60_000, async () => {
      const cams = (await api(http, 'GET', `/api/v1/video/cameras?estate=${ESTATE}`)) as Array<{ relay: boolean; qualities: string[] }>;
      return cams.length === devices.length && cams.every((c) => c.relay && c.qualities.length === 2);
    }, () => gateways.every((g) => g.proc.exitCode === null));
    const login = (await (await fetch(`${http}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(USER) })).json()) as { token: string };
    return {
      get sim() {
        return sim;
      },
      async restartSim() {
        const port = sim.port;
        await sim.stop();
        sim = await startRtspSimulator({ ...simOptions, port });
      },
      cams, devices, token: login.token,
      hub: { proc: hubProc, http, metrics: `${http}/metrics` },
      gateways,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
