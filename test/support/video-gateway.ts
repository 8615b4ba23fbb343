import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { z } from 'zod';
import { driverRegistry } from '../../devices/registry.js';
import type { DriverFactory, VideoSource } from '../../devices/types.js';
import { validateGatewayConfig } from '../../gateway/config.js';
import { createGateway, type Gateway } from '../../gateway/main.js';
import { freePort } from './ports.js';
import { TEST_SALT } from './gateway.js';

/**
 * A camera driver for the video relay's tests: its `streams()` answers what its options say (or
 * rejects, like a camera that is not up yet). Registered under `test-video-camera`, so a real
 * gateway (createGateway, its config validation, its services) runs it like any driver.
 */
const Options = z.object({ sources: z.array(z.record(z.string(), z.unknown())).default([]), fail: z.boolean().default(false) });
export const testVideoCamera: DriverFactory<typeof Options> = {
  name: 'test-video-camera',
  kind: 'onvif-camera',
  options: Options,
  profile: { kind: 'onvif-camera', vendor: 'test', events: [], commands: [] },
  create(ctx) {
    return {
      start: async () => undefined,
      stop: async () => undefined,
      health: () => ({ online: true, state: 'online' }),
      async streams() {
        if (ctx.options.fail) throw new Error('camera not reachable yet');
        return ctx.options.sources as unknown as VideoSource[];
      },
    };
  },
};
driverRegistry.set(testVideoCamera.name, testVideoCamera as unknown as DriverFactory);

export const VIDEO_LOGIN = { username: 'gw-video-test', password: 'gateway-mqtt-secret-0123' };

export interface VideoGateway {
  gateway: Gateway;
  /** Every log line the gateway wrote (pino JSON, debug level and up). */
  logs(): string;
  metricsUrl: string;
  /** The config as written (before validation), for reload tests. */
  raw: Record<string, unknown> & { devices: Array<{ id: string }> };
  stop(): Promise<void>;
}

/** A real gateway (in this process) whose hub link points nowhere, with its video relay dialing `httpUrl`. */
export async function startVideoGateway(opts: {
  httpUrl: string;
  devices: Array<{ id: string; sources?: Array<Partial<VideoSource>>; fail?: boolean }>;
  video?: Record<string, unknown>;
  /** The hub's provisioning (estate, gateway, MQTT login); default e1/gw1 with VIDEO_LOGIN. */
  creds?: { estate: string; gateway: string; username: string; password: string };
}): Promise<VideoGateway> {
  const creds = opts.creds ?? { estate: 'e1', gateway: 'gw1', ...VIDEO_LOGIN };
  const dir = mkdtempSync(join(tmpdir(), 'rb-video-gw-'));
  let logs = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs += chunk.toString();
      cb();
    },
  });
  const metricsPort = await freePort();
  const raw = {
    estate: creds.estate,
    gateway: creds.gateway,
    dataDir: dir,
    // Nothing listens there: the MQTT link retries in the background; video has its own link.
    hub: { url: `mqtt://127.0.0.1:${await freePort()}`, httpUrl: opts.httpUrl, username: creds.username, password: creds.password, keepaliveS: 10 },
    privacy: { salt: TEST_SALT },
    devicePush: { host: '127.0.0.1', port: 0 },
    uplink: { maxInflight: 500, backoffMinMs: 100, backoffMaxMs: 1_000 },
    metrics: { port: metricsPort },
    video: opts.video ?? {},
    devices: opts.devices.map((d) => ({ id: d.id, driver: testVideoCamera.name, options: { sources: d.sources ?? [], fail: d.fail ?? false } })),
  };
  const gateway = createGateway({ config: validateGatewayConfig(raw), log: pino({ level: 'debug' }, sink) });
  await gateway.start();
  return {
    gateway,
    logs: () => logs,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    raw,
    async stop() {
      await gateway.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
