import { clientIdFor } from '../../protocol/index.js';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeHubOverrides, resolveHubConfig, type HubConfigOverrides } from '../../hub/config.js';
import { brokerLimits } from '../../hub/broker/options.js';
import { createHub } from '../../hub/main.js';
import type { Hub } from '../../hub/hub-types.js';
import type { GatewayCredentials } from '../../hub/registry.js';
import { topics } from '../../protocol/index.js';
import { connectGateway, endClient, makeEvent, metricValue, publishOutcome, sleep } from '../support/hub.js';
import { freePort } from '../support/ports.js';

/** The per-gateway PUBLISH rate limit (delays, never drops) and the MQTT over TLS listener. */

const E = 'estate-a';

interface H {
  hub: Hub;
  port: number;
  dataDir: string;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  connect(creds: GatewayCredentials, opts?: IClientOptions, url?: string): Promise<MqttClient>;
  stop(): Promise<void>;
}

let h: H | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function startHub(extra: HubConfigOverrides = {}, dataDir?: string): Promise<H> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'rb-hardening-')));
  const config = resolveHubConfig(mergeHubOverrides({ dataDir: dir, host: '127.0.0.1', http: { port: 0 }, mqtt: { port: 0 }, logLevel: 'silent' }, extra), {});
  const hub = createHub({ config, log: pino({ level: 'silent' }) });
  await hub.start();
  const port = hub.mqttAddress().port;
  const httpUrl = `http://127.0.0.1:${hub.httpAddress().port}`;
  const clients: MqttClient[] = [];
  h = {
    hub,
    port,
    dataDir: dir,
    metric: async (name, labels) => metricValue(await (await fetch(`${httpUrl}/metrics`)).text(), name, labels),
    async connect(creds, opts, url = `mqtt://127.0.0.1:${port}`) {
      const c = await connectGateway(url, creds, opts);
      clients.push(c);
      return c;
    },
    async stop() {
      await Promise.all(clients.map((c) => endClient(c)));
      await hub.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}

describe('per-gateway PUBLISH rate limit', () => {
  it('delays a gateway publishing at 5x its rate, loses nothing, and does not slow other gateways', async () => {
    const rate = 100;
    const burst = 10;
    const t = await startHub({ mqtt: { publishRate: rate, publishBurst: burst } });
    const gw1 = await t.hub.registry.addGateway(E, 'gw-1');
    const gw2 = await t.hub.registry.addGateway(E, 'gw-2');
    const fast = await t.connect(gw1);
    fast.setMaxListeners(300); // one 'close' listener per outstanding publish (publishOutcome)
    const other = await t.connect(gw2);

    // 5x the rate for half a second: 250 QoS 1 events, 5 every 10 ms, without waiting for PUBACKs
    const t0 = performance.now();
    const acks: Array<Promise<unknown>> = [];
    let acked = 0;
    for (let i = 0; i < 50; i++) {
      for (let j = 0; j < 5; j++) {
        const ev = makeEvent({ estate: E, gateway: 'gw-1' });
        acks.push(publishOutcome(fast, topics.event(E, 'gw-1', ev.device), JSON.stringify(ev), 20_000).finally(() => acked++));
      }
      await sleep(10);
    }
    // meanwhile another gateway is served while gw-1 still waits: the bucket is per gateway
    const ev2 = makeEvent({ estate: E, gateway: 'gw-2' });
    expect(await publishOutcome(other, topics.event(E, 'gw-2', ev2.device), JSON.stringify(ev2))).toBe('acked');
    expect(acked).toBeLessThan(250);

    const outcomes = await Promise.all(acks);
    const took = performance.now() - t0;
    const expected = ((250 - burst) / rate) * 1000;
    console.log(`[hardening] 250 events at 5x a ${rate}/s limit: all acked after ${took.toFixed(0)} ms (>= ${expected} ms expected)`);
    expect(outcomes.every((o) => o === 'acked')).toBe(true);
    expect(took).toBeGreaterThanOrEqual(expected - 20); // timers fire on the ms; the bucket is exact
    expect(await t.hub.store.query({ gateway: 'gw-1', limit: 1_000 })).toHaveLength(250);
    expect(await t.metric('rb_messages_accepted_total')).toBe(251);
    expect(await t.metric('rb_mqtt_publish_delayed_total')).toBeGreaterThan(100);
    expect(await t.metric('rb_mqtt_publish_delay_seconds_total')).toBeGreaterThan(1);
    expect(fast.connected).toBe(true);
  }, 30_000);
});

describe('MQTT over TLS', () => {
  it('serves a gateway over mqtts:// with its CA; a plain client on the TLS port gets nowhere', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rb-hardening-tls-'));
    // a self-signed certificate for 127.0.0.1, made with the openssl CLI (Debian: package openssl)
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    const tlsPort = await freePort();
    const t = await startHub({ mqtt: { tlsPort, tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } } }, dir);
    const gw = await t.hub.registry.addGateway(E, 'gw-1');
    const ca = await readFile(join(dir, 'cert.pem'));

    const secure = await t.connect(gw, { ca }, `mqtts://127.0.0.1:${tlsPort}`);
    const ev = makeEvent({ estate: E, gateway: 'gw-1' });
    expect(await publishOutcome(secure, topics.event(E, 'gw-1', ev.device), JSON.stringify(ev))).toBe('acked');
    expect(await t.hub.store.query({ limit: 5 })).toEqual([ev]);
    // the same aedes: the gateway's session and ACL hold across listeners
    expect(await t.metric('rb_gateways_connected')).toBe(1);

    // without the CA the certificate is not trusted
    expect(await refused(`mqtts://127.0.0.1:${tlsPort}`, creds(gw))).toMatch(/self.signed|certificate/i);
    // plain MQTT on the TLS port: the handshake fails and the hub closes the connection
    expect(await refused(`mqtt://127.0.0.1:${tlsPort}`, creds(gw))).toBe('closed');
    // the plain listener still works alongside
    expect((await t.connect(gw)).connected).toBe(true);
  }, 20_000);

  it('refuses a config with only one of mqtt.tls.cert and mqtt.tls.key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rb-hardening-tls-'));
    expect(() => resolveHubConfig({ dataDir: dir, mqtt: { tls: { cert: join(dir, 'cert.pem') } } }, {})).toThrow(
      /mqtt\.tls\.key: mqtt\.tls\.cert and mqtt\.tls\.key are set together \(env RB_MQTT_TLS_KEY or RB_TLS_KEY\)/,
    );
    // the broker checks the pair too when handed a config built some other way
    const config = resolveHubConfig({ dataDir: dir }, {});
    expect(() => brokerLimits({ ...config, mqtt: { ...config.mqtt, tls: { cert: join(dir, 'cert.pem') } } })).toThrow(/mqtt\.tls\.cert and mqtt\.tls\.key are set together/);
    await rm(dir, { recursive: true, force: true });
  });
});

/** Connect and report how it failed: an error message, `closed` (no CONNACK), or `connected`. */
function refused(url: string, opts: IClientOptions): Promise<string> {
  const client = mqtt.connect(url, { ...opts, reconnectPeriod: 0, connectTimeout: 3_000 });
  return new Promise<string>((resolve) => {
    client.once('connect', () => resolve('connected'));
    client.once('error', (err) => resolve(err.message));
    client.once('close', () => resolve('closed'));
  }).finally(() => client.end(true));
}

function creds(gw: GatewayCredentials): IClientOptions {
  return { username: gw.username, password: gw.password, clientId: clientIdFor(gw.estate, gw.gateway) };
}
