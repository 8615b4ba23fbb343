import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayCredentials } from '../../hub/registry.js';
import { topics } from '../../protocol/index.js';
import {
  connectGateway,
  makeEvent,
  publishOutcome,
  startTestHub,
  subscribeGranted,
  waitFor,
  type TestHub,
} from '../support/hub.js';

/** The hub's MQTT policy across a real aedes on a real port and real mqtt.js clients. */

const E = 'estate-a';
let t: TestHub;
let gw1: GatewayCredentials;

beforeEach(async () => {
  t = await startTestHub();
  gw1 = await t.provision(E, 'gw-1');
});

afterEach(async () => {
  await t?.stop();
});

/** connectGateway() that must fail: returns the error (mqtt.js ErrorWithReasonCode carries `code`). */
async function refusedConnect(creds: GatewayCredentials, opts = {}): Promise<Error & { code?: number }> {
  let client: MqttClient | undefined;
  try {
    client = await connectGateway(t.mqttUrl, creds, opts);
  } catch (err) {
    return err as Error & { code?: number };
  }
  await client.endAsync(true);
  throw new Error('the hub accepted a connection it must refuse');
}

describe('authentication', () => {
  it('accepts a provisioned gateway with its credentials', async () => {
    const client = await t.connect(gw1);
    expect(client.connected).toBe(true);
    expect(await waitFor(async () => (await t.metric('rb_gateways_connected')) === 1)).toBe(true);
    expect(await t.metric('rb_mqtt_auth_failures_total')).toBe(0);
  }, 10_000);

  it('refuses a wrong password with CONNACK 4 and counts it', async () => {
    expect(await t.metric('rb_mqtt_auth_failures_total', { reason: 'bad-credentials' })).toBe(0);
    const err = await refusedConnect({ ...gw1, password: `${gw1.password}x` });
    expect(err.code).toBe(4);
    expect(err.message).toMatch(/bad username or password/i);
    expect(await t.metric('rb_mqtt_auth_failures_total', { reason: 'bad-credentials' })).toBe(1);

    // an unknown username is the same failure, with the same answer
    const unknown = await refusedConnect({ ...gw1, username: `${E}.gw-unknown` });
    expect(unknown.code).toBe(4);
    expect(await t.metric('rb_mqtt_auth_failures_total', { reason: 'bad-credentials' })).toBe(2);
    expect(await t.metric('rb_gateways_connected')).toBe(0);

    // the right password still works afterwards
    expect((await t.connect(gw1)).connected).toBe(true);
  }, 10_000);

  it('refuses a connection without credentials', async () => {
    const err = await refusedConnect(gw1, { username: undefined, password: undefined });
    expect(err.code).toBe(4);
    expect(await t.metric('rb_mqtt_auth_failures_total', { reason: 'missing-credentials' })).toBe(1);
    // a username with no password is no better
    const noPassword = await refusedConnect(gw1, { password: undefined });
    expect(noPassword.code).toBe(4);
    expect(await t.metric('rb_mqtt_auth_failures_total', { reason: 'missing-credentials' })).toBe(2);
    expect(await t.metric('rb_gateways_connected')).toBe(0);
  }, 10_000);
});

describe('publishing events', () => {
  it('acknowledges a valid event only once it can be read back with every field', async () => {
    const client = await t.connect(gw1);
    const event = makeEvent({ estate: E, gateway: 'gw-1', device: 'gate-1', data: { door: 3, source: { vendor: 'hikvision-isapi', major: 5, minor: 27, serial: 9 } } });
    expect(await publishOutcome(client, topics.event(E, 'gw-1', 'gate-1'), JSON.stringify(event))).toBe('acked');
    // PUBACK came back: the event must already be durable and queryable, no waiting
    expect(await t.events()).toEqual([event]);
    expect(await t.events({ estate: E, gateway: 'gw-1', device: 'gate-1', type: 'door.forced' })).toEqual([event]);
    expect(await t.events({ estate: 'estate-b' })).toEqual([]);
    expect(await t.metric('rb_messages_accepted_total')).toBe(1);
    expect(await t.metric('rb_messages_received_total', { kind: 'event' })).toBe(1);
    expect(await t.metric('rb_messages_rejected_total')).toBe(0);
  }, 10_000);

  it('stores an event sent twice (a re-delivery) once', async () => {
    let client = await t.connect(gw1);
    const event = makeEvent({ estate: E, gateway: 'gw-1' });
    const topic = topics.event(E, 'gw-1', event.device);
    expect(await publishOutcome(client, topic, JSON.stringify(event))).toBe('acked');
    expect(await publishOutcome(client, topic, JSON.stringify(event))).toBe('acked');
    // and once more after a reconnect, as a gateway replaying its outbox does
    await client.endAsync(true);
    client = await t.connect(gw1);
    expect(await publishOutcome(client, topic, JSON.stringify(event))).toBe('acked');

    expect(await t.events()).toEqual([event]);
    expect(await t.metric('rb_messages_accepted_total')).toBe(1);
    expect(await t.metric('rb_events_deduplicated_total')).toBeGreaterThanOrEqual(1);
    expect(await t.metric('rb_messages_received_total', { kind: 'event' })).toBe(3);
  }, 10_000);
});

describe('ACL', () => {
  it("closes a gateway that publishes on another gateway's topic; stores nothing; others carry on", async () => {
    const gw2 = await t.provision(E, 'gw-2');
    const intruder = await t.connect(gw1);
    // the envelope matches the foreign topic, so only the ACL can stop it
    const forged = makeEvent({ estate: E, gateway: 'gw-2', device: 'gate-1' });
    expect(await publishOutcome(intruder, topics.event(E, 'gw-2', 'gate-1'), JSON.stringify(forged))).toBe('closed');
    expect(intruder.connected).toBe(false);
    expect(await t.events()).toEqual([]);
    expect(await t.metric('rb_messages_rejected_total', { reason: 'acl' })).toBe(1);

    // another estate's topic is just as foreign
    const again = await t.connect(gw1);
    const otherEstate = makeEvent({ estate: 'estate-b', gateway: 'gw-1', device: 'gate-1' });
    expect(await publishOutcome(again, topics.event('estate-b', 'gw-1', 'gate-1'), JSON.stringify(otherEstate))).toBe('closed');
    expect(await t.metric('rb_messages_rejected_total', { reason: 'acl' })).toBe(2);
    expect(await t.events()).toEqual([]);

    // the hub still serves: the real gw-2, and gw-1 on its own topic
    const victim = await t.connect(gw2);
    const real = makeEvent({ estate: E, gateway: 'gw-2', device: 'gate-1' });
    expect(await publishOutcome(victim, topics.event(E, 'gw-2', 'gate-1'), JSON.stringify(real))).toBe('acked');
    const honest = await t.connect(gw1);
    const own = makeEvent({ estate: E, gateway: 'gw-1', device: 'gate-1', ts: real.ts + 1 });
    expect(await publishOutcome(honest, topics.event(E, 'gw-1', 'gate-1'), JSON.stringify(own))).toBe('acked');
    expect(await t.events()).toEqual([own, real]);
    expect(await t.metric('rb_messages_accepted_total')).toBe(2);
  }, 10_000);

  it('closes a gateway that publishes a command, even on its own cmd topic', async () => {
    const client = await t.connect(gw1);
    const cmd = JSON.stringify({ id: 'x', action: 'open', door: 1 });
    expect(await publishOutcome(client, topics.cmd(E, 'gw-1', 'gate-1'), cmd)).toBe('closed');
    expect(await t.metric('rb_messages_rejected_total', { reason: 'acl' })).toBe(1);
  }, 10_000);

  it("grants subscriptions to the gateway's own command topics only", async () => {
    await t.provision(E, 'gw-2');
    const client = await t.connect(gw1);
    expect(await subscribeGranted(client, '#')).toEqual([128]);
    expect(await subscribeGranted(client, topics.gatewayCommands(E, 'gw-2'))).toEqual([128]);
    expect(await subscribeGranted(client, 'rb/v1/+/+/+/cmd')).toEqual([128]);
    expect(await subscribeGranted(client, `rb/v1/${E}/gw-1/#`)).toEqual([128]);
    expect(await subscribeGranted(client, `rb/v1/${E}/gw-1/+/event`)).toEqual([128]);
    expect(await t.metric('rb_mqtt_subscribe_denied_total')).toBe(5);
    // refusals are per filter (SUBACK 0x80); the connection stays up
    expect(client.connected).toBe(true);

    expect(await subscribeGranted(client, topics.gatewayCommands(E, 'gw-1'))).toEqual([1]);
    expect(await subscribeGranted(client, topics.cmd(E, 'gw-1', 'gate-1'))).toEqual([1]);
    expect(await t.metric('rb_mqtt_subscribe_denied_total')).toBe(5);
  }, 10_000);
});
