import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessGateSimulator, type SentEvent, type SimKind } from '../../devices/access-gate/simulator.js';
import { validateGatewayConfig } from '../../gateway/config.js';
import { stableEventId } from '../../gateway/event-id.js';
import { createGateway, type Gateway } from '../../gateway/main.js';
import { resolveHubConfig } from '../../hub/config.js';
import { createHub } from '../../hub/main.js';
import type { Hub } from '../../hub/hub-types.js';
import { silentLogger } from '../../lib/log.js';
import type { RbEvent } from '../../protocol/index.js';
import { useInfluxd } from '../support/use-influxd.js';

const SALT = 'e2e-salt-0123456789abcdef';
const ESTATE = 'maple-court';
const API_TOKEN = 'e2e-api-token-0123456789';
const authHeaders = { authorization: `Bearer ${API_TOKEN}` };
const GATEWAY = 'gw-1';
const DEVICE = 'gate-east';
const hash = (v: string) => createHmac('sha256', SALT).update(v).digest('hex').slice(0, 32);

/** What the hub must hold for one ISAPI push, derived independently from what the simulator sent. */
function expectedData(sent: SentEvent): Record<string, unknown> {
  const ace = sent.json.AccessControllerEvent as Record<string, unknown>;
  const source = { vendor: 'hikvision-isapi', major: ace.majorEventType, minor: ace.subEventType, serial: ace.serialNo };
  const door = (ace.doorNo as number | undefined) ?? 1;
  const access = (method: string) => ({
    door,
    reader: ace.cardReaderNo,
    method,
    ...(ace.cardNo ? { credential: hash(ace.cardNo as string) } : {}),
    ...(ace.employeeNoString ? { person: hash(ace.employeeNoString as string) } : {}),
    source,
  });
  switch (sent.kind) {
    case 'card-ok':
      return access('card');
    case 'card-unknown':
      return { ...access('card'), reason: 'unknown-credential' };
    case 'face-ok':
      return access('face');
    case 'face-fail':
      return { ...access('face'), reason: 'face-mismatch' };
    case 'held':
      return { door, source, ...(ace.heldS !== undefined ? { heldS: ace.heldS } : {}) };
    case 'tamper':
      return { zone: 0, source };
    default:
      return { door, source };
  }
}

const TYPE_OF: Record<SimKind, RbEvent['type']> = {
  'card-ok': 'access.granted',
  'card-unknown': 'access.denied',
  'face-ok': 'access.granted',
  'face-fail': 'access.denied',
  'door-open': 'door.opened',
  'door-close': 'door.closed',
  forced: 'door.forced',
  held: 'door.held',
  tamper: 'device.tamper',
};

describe('end to end: ISAPI push -> gateway -> MQTT -> hub -> InfluxDB and Socket.IO', () => {
  const influxd = useInfluxd();
  let dir: string;
  let hub: Hub;
  let gateway: Gateway;
  let socket: Socket;
  const received: RbEvent[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rb-e2e-'));
    const config = resolveHubConfig({
      dataDir: dir,
      host: '127.0.0.1',
      http: { port: 0 },
      mqtt: { port: 0 },
      influx: { url: `${influxd().url}/rb_e2e` },
      logLevel: 'silent',
      auth: { apiToken: API_TOKEN },
    });
    hub = createHub({ config, log: silentLogger() });
    await hub.start();
    const creds = await hub.registry.addGateway(ESTATE, GATEWAY);
    gateway = createGateway({
      log: silentLogger(),
      config: validateGatewayConfig({
        estate: ESTATE,
        gateway: GATEWAY,
        hub: { url: `mqtt://127.0.0.1:${hub.mqttAddress().port}`, username: creds.username, password: creds.password },
        privacy: { salt: SALT },
        devicePush: { host: '127.0.0.1', port: 0 },
        devices: [{ id: DEVICE, driver: 'hikvision-isapi' }],
      }),
    });
    await gateway.start();
    socket = ioClient(`http://127.0.0.1:${hub.httpAddress().port}`, { auth: { estates: [ESTATE], token: API_TOKEN }, transports: ['websocket'] });
    socket.on('event', (m: { scope: string; seq: number; data: RbEvent }) => received.push(m.data));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    await waitFor(() => gateway.uplink.connected());
  });

  afterAll(async () => {
    socket?.close();
    await gateway?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores every kind of event in InfluxDB and pushes it live, every field equal', async () => {
    const sim = createAccessGateSimulator({
      target: `http://127.0.0.1:${gateway.pushAddress().port}/isapi/${DEVICE}`,
      deviceName: DEVICE,
    });
    const kinds = Object.keys(TYPE_OF) as SimKind[];
    const sent: SentEvent[] = [];
    for (const kind of kinds) {
      const s = await sim.send(kind);
      expect(s.status).toBe(200);
      sent.push(s);
    }
    sim.stop();
    await waitFor(() => received.length >= sent.length);

    // Read back through the hub's API (InfluxDB store) and straight from influxd.
    const res = await fetch(`http://127.0.0.1:${hub.httpAddress().port}/api/v1/events?estate=${ESTATE}&limit=100`, { headers: authHeaders });
    const { items } = (await res.json()) as { items: RbEvent[] };
    expect(items).toHaveLength(sent.length);
    const raw = await fetch(`${influxd().url}/query?db=rb_e2e&q=${encodeURIComponent('SELECT count("id") FROM "events"')}`);
    const rawBody = (await raw.json()) as { results: Array<{ series?: Array<{ values: unknown[][] }> }> };
    expect(rawBody.results[0]?.series?.[0]?.values[0]?.[1]).toBe(sent.length);

    const seqs = new Set<number>();
    for (const s of sent) {
      const ts = Date.parse(s.json.dateTime);
      const expected = {
        v: 1,
        id: stableEventId(ts, `${ESTATE}/${GATEWAY}/${DEVICE}/${TYPE_OF[s.kind]}/${s.serialNo}`),
        ts,
        estate: ESTATE,
        gateway: GATEWAY,
        device: DEVICE,
        type: TYPE_OF[s.kind],
        data: expectedData(s),
      };
      const stored = items.find((e) => e.id === expected.id);
      const pushed = received.find((e) => e.id === expected.id);
      expect(stored, `${s.kind} stored`).toMatchObject(expected);
      expect(pushed, `${s.kind} pushed`).toEqual(stored);
      seqs.add(stored!.seq);
      // The raw card number, name and employee number never leave the gateway: no text of the stored
      // event holds one (its numbers may: seq 1003 once matched an employee number 1003).
      const texts: string[] = [];
      const collect = (v: unknown): void => {
        if (typeof v === 'string') texts.push(v);
        else if (v && typeof v === 'object') for (const x of Object.values(v)) collect(x);
      };
      collect(stored);
      const ace = s.json.AccessControllerEvent as Record<string, unknown>;
      for (const secret of [ace.cardNo, ace.name, ace.employeeNoString]) {
        if (typeof secret === 'string') expect(texts.filter((t) => t.includes(secret))).toEqual([]);
      }
    }
    expect(seqs.size).toBe(sent.length);
    expect(received).toHaveLength(sent.length); // pushed once each
  });

  it('a device re-posting the same event (same serialNo) is stored and pushed once', async () => {
    const before = received.length;
    const sim = createAccessGateSimulator({ target: `http://127.0.0.1:${gateway.pushAddress().port}/isapi/${DEVICE}`, deviceName: DEVICE });
    const first = await sim.send('forced');
    const again = await sim.send('forced', { serialNo: first.serialNo, at: Date.parse(first.json.dateTime) });
    sim.stop();
    expect(again.status).toBe(200);
    await waitFor(() => received.length >= before + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(received.length).toBe(before + 1);
    const res = await fetch(`http://127.0.0.1:${hub.httpAddress().port}/api/v1/events?type=door.forced&limit=100`, { headers: authHeaders });
    const { items } = (await res.json()) as { items: RbEvent[] };
    expect(items.filter((e) => (e.data as { source?: { serial?: number } }).source?.serial === first.serialNo)).toHaveLength(1);
  });
});

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
