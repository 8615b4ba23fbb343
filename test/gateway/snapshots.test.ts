import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator } from '../../devices/access-gate/simulator.js';
import { createOnvifSimulator, type OnvifSimulator } from '../../devices/onvif-camera/simulator.js';
import { validateGatewayConfig } from '../../gateway/config.js';
import type { Gateway } from '../../gateway/main.js';
import type { RbEvent } from '../../protocol/index.js';
import { gatewayConfig, startGatewayInProcess } from '../support/gateway.js';
import { startTestHub, waitFor, type TestHub } from '../support/hub.js';

const TOKEN = 'snapshot-test-token-0123456789';
const CAM = { username: 'operator', password: 'Cam-Secret-2718' };

describe('incident snapshots: alarm at a gate -> linked camera snapshot -> hub, content-addressed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-snap-'));
  let hub: TestHub | undefined;
  let gateway: Gateway | undefined;
  let camera: OnvifSimulator | undefined;
  afterAll(async () => {
    await gateway?.stop();
    await camera?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the snapshot once, links it to the event, serves it only with the token, and survives a hub outage', async () => {
    const hubDir = join(dir, 'hub');
    hub = await startTestHub({ dataDir: hubDir, apiToken: TOKEN });
    const ports = { httpPort: Number(new URL(hub.httpUrl).port), mqttPort: hub.mqttPort };
    camera = createOnvifSimulator({ ...CAM, maxPullWaitMs: 1_000, discoveryPort: false });
    await camera.start();
    const creds = await hub.provision('snap-estate', 'gw-1');
    const raw = gatewayConfig({ creds, mqttPort: hub.mqttPort, dataDir: join(dir, 'gw') });
    raw.hub = { ...(raw.hub as object), httpUrl: hub.httpUrl };
    raw.devices = [
      { id: 'gate-1', driver: 'hikvision-isapi', options: {}, cameras: ['cam-1'] },
      { id: 'cam-1', driver: 'onvif', options: { address: camera.deviceUrl(), ...CAM, pullTimeoutS: 1, requestTimeoutMs: 2_000 } },
    ];
    gateway = await startGatewayInProcess(raw);
    const gate = createAccessGateSimulator({ target: `http://127.0.0.1:${gateway.pushAddress().port}/isapi/gate-1`, deviceName: 'gate-1', format: 'json' });

    // A routine event takes no snapshot; a forced door does.
    expect((await gate.send('card-ok')).status).toBe(200);
    expect((await gate.send('forced')).status).toBe(200);
    const events = async () => (await hub!.events({ estate: 'snap-estate', device: 'gate-1' })) as Array<RbEvent & { snapshots?: string[] }>;
    await waitFor(async () => (await events()).some((e) => e.type === 'door.forced' && e.snapshots?.length === 1), 15_000);
    const forced = (await events()).find((e) => e.type === 'door.forced')!;
    expect(forced.snapshots).toHaveLength(1);
    expect((await events()).find((e) => e.type === 'access.granted')!.snapshots).toBeUndefined();

    const sha = forced.snapshots![0]!;
    const noToken = await fetch(`${hub.httpUrl}/api/v1/snapshots/${sha}`);
    expect(noToken.status).toBe(401);
    const jpeg = Buffer.from(await (await fetch(`${hub.httpUrl}/api/v1/snapshots/${sha}`, { headers: { authorization: `Bearer ${TOKEN}` } })).arrayBuffer());
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(createHash('sha256').update(jpeg).digest('hex')).toBe(sha); // content-addressed
    const list = (await (await fetch(`${hub.httpUrl}/api/v1/events/${forced.id}/snapshots`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      items: Array<{ camera: string; device: string; url: string }>;
    };
    expect(list.items).toMatchObject([{ camera: 'cam-1', device: 'gate-1', url: `/api/v1/snapshots/${sha}` }]);

    // A forged upload: wrong gateway password, or bytes that do not match the sha256.
    const put = (auth: string, body: Buffer, s = sha) =>
      fetch(`${hub!.httpUrl}/api/v1/snapshots/${s}?event=${forced.id}&device=gate-1&camera=cam-1&takenAt=1`, { method: 'PUT', body, headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } });
    expect((await put(`${creds.username}:wrong`, jpeg)).status).toBe(401);
    expect((await put(`${creds.username}:${creds.password}`, Buffer.concat([jpeg, Buffer.from('x')]))).status).toBe(400);

    // Hub down when the next alarm happens: the snapshot waits in the gateway's spool and arrives later.
    await hub.stop();
    expect((await gate.send('tamper')).status).toBe(200);
    await waitFor(async () => gateway!.outbox.stats().depth > 0, 5_000);
    await new Promise((r) => setTimeout(r, 1_500));
    hub = await startTestHub({ dataDir: hubDir, apiToken: TOKEN, ...ports });
    await waitFor(async () => (await events()).some((e) => e.type === 'device.tamper' && e.snapshots?.length === 1), 30_000);
    expect((await events()).find((e) => e.type === 'device.tamper')?.snapshots).toHaveLength(1);
    gate.stop();
  }, 90_000);

  it('refuses a config whose cameras name an unknown device, a non-camera, or lack hub.httpUrl', () => {
    const creds = { estate: 'e', gateway: 'g', username: 'e.g', password: 'p' };
    const raw = gatewayConfig({ creds, mqttPort: 1883, dataDir: join(dir, 'x') });
    raw.devices = [
      { id: 'gate-1', driver: 'hikvision-isapi', cameras: ['cam-9'] },
      { id: 'gate-2', driver: 'hikvision-isapi', cameras: ['gate-1'] },
    ];
    expect(() => validateGatewayConfig(raw)).toThrow(/devices\[0\]\.cameras\[0\]: no device "cam-9"[\s\S]*devices\[1\]\.cameras\[0\]: device "gate-1" \(driver hikvision-isapi\) cannot take snapshots[\s\S]*hub\.httpUrl/);
  });
});
