import { connect as tcpConnect } from 'node:net';
import { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientIdFor } from '../../../protocol/index.js';
import type { GatewayCredentials } from '../../../hub/registry.js';
import { haproxyPreamble, startHaproxy, type Haproxy } from '../../support/haproxy.js';
import { captureLog, startTestHub, waitFor, type TestHub } from '../../support/hub.js';
import { freePort } from '../../support/ports.js';

/**
 * The hub's MQTT listener behind a real HAProxy 2.6 with `send-proxy-v2` (issue 18, mqtt.proxyProtocol):
 * per-IP limits and logs see the client address the PROXY header carries, not HAProxy's; a direct
 * connection without the header is refused. Clients bind distinct loopback addresses (127.0.0.x).
 */
type Outcome = { connected: true } | { connected: false; why: string };

/** One MQTT CONNECT from `localAddress` to `port`; how it ended. */
function tryConnect(port: number, localAddress: string, creds: GatewayCredentials): Promise<Outcome> {
  return new Promise((resolve) => {
    const client = new MqttClient(() => tcpConnect({ port, host: '127.0.0.1', localAddress }), {
      clientId: clientIdFor(creds.estate, creds.gateway),
      username: creds.username,
      password: creds.password,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    const done = (o: Outcome): void => {
      client.end(true);
      resolve(o);
    };
    client.once('connect', () => done({ connected: true }));
    client.once('error', (err) => done({ connected: false, why: err.message }));
    client.once('close', () => done({ connected: false, why: 'closed' }));
  });
}

describe('MQTT behind HAProxy with PROXY protocol v2', () => {
  const captured = captureLog('info');
  let hub: TestHub;
  let haproxy: Haproxy;
  let front: number;
  const creds: GatewayCredentials[] = [];
  beforeAll(async () => {
    // One CONNECT per address, then 1 per 10 s: the second attempt from one address is refused.
    hub = await startTestHub({ log: captured.log, config: { mqtt: { proxyProtocol: true, connectBurstPerIp: 1, connectRatePerIp: 0.1 } } });
    for (const gw of ['gw-1', 'gw-2', 'gw-3']) creds.push(await hub.provision('pp-estate', gw));
    front = await freePort();
    haproxy = await startHaproxy(
      `${haproxyPreamble('tcp')}frontend mqtt\n  bind 127.0.0.1:${front}\n  default_backend hubs\nbackend hubs\n  server hub1 127.0.0.1:${hub.mqttPort} send-proxy-v2\n`,
      { waitPorts: [front] },
    );
  });
  afterAll(async () => {
    await haproxy?.stop();
    await hub?.stop();
  });

  it('limits per client address as the PROXY header gives it, not per HAProxy', async () => {
    expect(await tryConnect(front, '127.0.0.2', creds[0]!)).toEqual({ connected: true });
    // Same client address again: its bucket is empty (CONNACK 3, server unavailable).
    const again = await tryConnect(front, '127.0.0.2', creds[1]!);
    expect(again.connected).toBe(false);
    // Another client address through the same HAProxy: its own bucket. Were the limit keyed on the
    // TCP peer (HAProxy, 127.0.0.1 for all three), this one would be refused too.
    expect(await tryConnect(front, '127.0.0.3', creds[2]!)).toEqual({ connected: true });
    expect(await hub.metric('rb_mqtt_connections_refused_total', { reason: 'ip-rate' })).toBe(1);
    const refusal = captured.lines.find((l) => l.msg.startsWith('MQTT connect refused: server unavailable'));
    expect(refusal?.remote).toBe('127.0.0.2');
  });

  it('refuses a direct connection that sends no PROXY header', async () => {
    const before = await hub.metric('rb_mqtt_connections_refused_total', { reason: 'proxy-protocol' });
    const direct = await tryConnect(hub.mqttPort, '127.0.0.4', creds[0]!);
    expect(direct.connected).toBe(false);
    expect(await waitFor(async () => (await hub.metric('rb_mqtt_connections_refused_total', { reason: 'proxy-protocol' })) === before + 1)).toBe(true);
    const line = captured.lines.find((l) => l.msg.startsWith('MQTT connection refused: no valid PROXY protocol v2 header'));
    expect(line).toMatchObject({ peer: '127.0.0.4', err: 'no PROXY protocol v2 signature' });
  });
});

describe('http.trustProxy', () => {
  const login = (hub: TestHub, forwardedFor: string) =>
    fetch(`${hub.httpUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
      body: JSON.stringify({ name: 'nobody', password: 'wrong-password' }),
    }).then((r) => r.status);

  it('counts failed logins per X-Forwarded-For address only from a trusted proxy', async () => {
    const trusting = await startTestHub({ config: { http: { trustProxy: 'loopback' }, auth: { loginMaxFailures: 1 } } });
    const ignoring = await startTestHub({ config: { auth: { loginMaxFailures: 1 } } });
    try {
      expect(await login(trusting, '10.0.0.1')).toBe(401);
      expect(await login(trusting, '10.0.0.1')).toBe(429);
      expect(await login(trusting, '10.0.0.2')).toBe(401); // another client behind the proxy
      expect(await login(ignoring, '10.0.0.1')).toBe(401);
      expect(await login(ignoring, '10.0.0.2')).toBe(429); // the header is anyone's to write: ignored
    } finally {
      await trusting.stop();
      await ignoring.stop();
    }
  });
});
