import { clientIdFor } from '../../protocol/index.js';
import { connect, type Socket } from 'node:net';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { HubConfigOverrides } from '../../hub/config.js';
import type { GatewayCredentials } from '../../hub/registry.js';
import { topics } from '../../protocol/index.js';
import { connectGateway, makeEvent, publishOutcome, sleep, startTestHub, type TestHub, subscribeGranted, waitFor } from '../support/hub.js';

/**
 * Broker hardening at the packet level, against a real aedes on a real port: packet sizes enforced
 * from the fixed header before anything is buffered, client ids, topic strings (MQTT 3.1.1 §1.5.3).
 */

const E = 'estate-a';
const MiB = 1024 * 1024;

let h: TestHub | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function startHub(extra: HubConfigOverrides = {}): Promise<TestHub> {
  h = await startTestHub({ config: extra });
  return h;
}

/** MQTT 3.1.1 §2.2.3 Remaining Length encoding. */
function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

const str = (b: Buffer): Buffer => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);

/** A QoS 1 PUBLISH (message id 1) with a raw topic, bytes as given. */
function rawPublish(topic: Buffer, payload: Buffer): Buffer {
  const body = Buffer.concat([str(topic), Buffer.from([0, 1]), payload]);
  return Buffer.concat([Buffer.from([0x32]), remainingLength(body.length), body]);
}

/** A SUBSCRIBE (message id 2) to one raw filter, QoS 1. */
function rawSubscribe(filter: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([0, 2]), str(filter), Buffer.from([1])]);
  return Buffer.concat([Buffer.from([0x82]), remainingLength(body.length), body]);
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with the ms it took the peer to close `socket`, or -1 after `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(-1), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

/** Stream of a gateway's connection (mqtt.js keeps it in `stream`). */
const streamOf = (c: MqttClient): Socket => (c as unknown as { stream: Socket }).stream;

describe('packet size, from the fixed header', () => {
  it('closes a pre-auth CONNECT claiming 256 MiB at once, trickled or not; RSS does not grow', async () => {
    const t = await startHub();
    const gw = await t.hub.registry.addGateway(E, 'gw-1');
    const chunk = Buffer.alloc(MiB, 0x41); // one buffer, re-sent: the test itself allocates nothing per write
    globalThis.gc?.();
    const rss0 = process.memoryUsage().rss;
    for (let round = 0; round < 5; round++) {
      const s = await openSocket(t.mqttPort);
      s.on('error', () => {});
      const closed = closedWithin(s, 2_000);
      // fixed header: CONNECT, Remaining Length 268,435,455 (the largest encodable, 256 MiB - 1)
      s.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
      // then keep trickling the "payload" as long as the hub lets us
      let sent = 0;
      while (!s.destroyed && sent < 64 * MiB) {
        if (!s.write(chunk)) await Promise.race([new Promise((r) => s.once('drain', r)), sleep(50)]);
        sent += MiB;
        await sleep(1);
      }
      expect(await closed).toBeGreaterThanOrEqual(0);
      expect(sent).toBeLessThanOrEqual(4 * MiB); // closed long before the claimed size
    }
    const grown = (process.memoryUsage().rss - rss0) / MiB;
    console.log(`[hardening] 5 x CONNECT claiming 256 MiB: RSS grew ${grown.toFixed(1)} MiB`);
    expect(grown).toBeLessThan(5);
    expect(await t.metric('rb_mqtt_oversize_total', { phase: 'pre-connack' })).toBe(5);

    // a CONNECT just over the pre-CONNACK limit (8 KiB) is refused too; a real one still works
    const s = await openSocket(t.mqttPort);
    const closed = closedWithin(s, 2_000);
    s.write(Buffer.concat([Buffer.from([0x10]), remainingLength(8 * 1024 + 1)]));
    expect(await closed).toBeGreaterThanOrEqual(0);
    expect(await t.metric('rb_mqtt_oversize_total', { phase: 'pre-connack' })).toBe(6);
    expect((await t.connect(gw)).connected).toBe(true);
  }, 60_000);

  it('closes a gateway whose PUBLISH claims 100 MiB; nothing stored; the hub serves others', async () => {
    const t = await startHub();
    const gw1 = await t.hub.registry.addGateway(E, 'gw-1');
    const gw2 = await t.hub.registry.addGateway(E, 'gw-2');
    const big = await t.connect(gw1);
    const other = await t.connect(gw2);
    const closed = new Promise<void>((r) => big.once('close', () => r()));
    const topic = Buffer.from(topics.event(E, 'gw-1', 'gate-1'));
    const start = Buffer.concat([str(topic), Buffer.from([0, 1]), Buffer.from(JSON.stringify(makeEvent({ estate: E, gateway: 'gw-1' })))]);
    // header claims 100 MiB, then the first 4 KiB of it arrive one byte split from the header
    const header = Buffer.concat([Buffer.from([0x32]), remainingLength(100 * MiB)]);
    streamOf(big).write(header.subarray(0, 2));
    await sleep(20);
    streamOf(big).write(Buffer.concat([header.subarray(2), start]));
    expect(await Promise.race([closed.then(() => true), sleep(2_000).then(() => false)])).toBe(true);
    expect(await t.metric('rb_mqtt_oversize_total', { phase: 'connected' })).toBe(1);
    expect(await t.hub.store.query({ limit: 10 })).toEqual([]);

    const ev = makeEvent({ estate: E, gateway: 'gw-2' });
    expect(await publishOutcome(other, topics.event(E, 'gw-2', ev.device), JSON.stringify(ev))).toBe('acked');
    expect(await t.hub.store.query({ limit: 10 })).toEqual([ev]);
    // the gateway that misbehaved may come back and publish normally sized events
    const again = await t.connect(gw1);
    const ok = makeEvent({ estate: E, gateway: 'gw-1', ts: ev.ts + 1 });
    expect(await publishOutcome(again, topics.event(E, 'gw-1', ok.device), JSON.stringify(ok))).toBe('acked');
  }, 20_000);

  it('refuses a fifth Remaining Length byte (§2.2.3) and passes headers split byte by byte', async () => {
    const t = await startHub();
    const gw = await t.hub.registry.addGateway(E, 'gw-1');
    const client = await t.connect(gw);
    // every PUBLISH of a real client, delivered one byte per TCP write, reaches the store
    const ev = makeEvent({ estate: E, gateway: 'gw-1' });
    const bytes = rawPublish(Buffer.from(topics.event(E, 'gw-1', ev.device)), Buffer.from(JSON.stringify(ev)));
    const sock = streamOf(client);
    for (const b of bytes) {
      sock.write(Buffer.from([b]));
      await sleep(1);
    }
    expect(await waitFor(async () => (await t.hub.store.query({ limit: 5 })).length === 1)).toBe(true);

    const closed = new Promise<void>((r) => client.once('close', () => r()));
    sock.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]));
    expect(await Promise.race([closed.then(() => true), sleep(2_000).then(() => false)])).toBe(true);
    expect(await t.metric('rb_mqtt_protocol_errors_total', { reason: 'malformed-length' })).toBe(1);
  }, 20_000);
});

describe('client ids', () => {
  async function refused(t: TestHub, creds: GatewayCredentials, opts: IClientOptions): Promise<number | undefined> {
    try {
      const c = await connectGateway(`mqtt://127.0.0.1:${t.mqttPort}`, creds, opts);
      await c.endAsync(true);
    } catch (err) {
      return (err as { code?: number }).code;
    }
    throw new Error('the hub accepted a connection it must refuse');
  }

  it('refuses an empty client id (CONNACK 2), with either CleanSession, and counts it', async () => {
    const t = await startHub();
    const gw = await t.hub.registry.addGateway(E, 'gw-1');
    expect(await refused(t, gw, { clientId: '', clean: true })).toBe(2);
    expect(await t.metric('rb_mqtt_protocol_errors_total', { reason: 'empty-client-id' })).toBe(1);
    expect(await t.metric('rb_mqtt_auth_failures_total')).toBe(0);
  }, 10_000);

  it("refuses a gateway using another gateway's client id (its persistent session) with CONNACK 2", async () => {
    const t = await startHub();
    const gw1 = await t.hub.registry.addGateway(E, 'gw-1');
    await t.hub.registry.addGateway(E, 'gw-2');
    expect(await refused(t, gw1, { clientId: clientIdFor(E, 'gw-2') })).toBe(2);
    expect(await refused(t, gw1, { clientId: 'anything-else' })).toBe(2);
    expect(await t.metric('rb_mqtt_protocol_errors_total', { reason: 'client-id-mismatch' })).toBe(2);
    expect((await t.connect(gw1)).connected).toBe(true);
  }, 10_000);
});

describe('topic strings (MQTT 3.1.1 §1.5.3)', () => {
  const cases: Array<[string, Buffer, string]> = [
    ['U+0000', Buffer.from(`rb/v1/${E}/gw-1/gate\u00001/event`), 'topic-nul'],
    ['ill-formed UTF-8 (0xC3 0x28)', Buffer.concat([Buffer.from(`rb/v1/${E}/gw-1/gate`), Buffer.from([0xc3, 0x28]), Buffer.from('/event')]), 'topic-invalid-utf8'],
    ['an encoded surrogate U+D800', Buffer.concat([Buffer.from(`rb/v1/${E}/gw-1/gate`), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('/event')]), 'topic-invalid-utf8'],
  ];
  for (const [name, topic, reason] of cases) {
    it(`closes a gateway publishing or subscribing with ${name}, counted as ${reason}`, async () => {
      const t = await startHub();
      const gw = await t.hub.registry.addGateway(E, 'gw-1');
      let client = await t.connect(gw);
      let closed = new Promise<void>((r) => client.once('close', () => r()));
      streamOf(client).write(rawPublish(topic, Buffer.from(JSON.stringify(makeEvent({ estate: E, gateway: 'gw-1' })))));
      expect(await Promise.race([closed.then(() => true), sleep(2_000).then(() => false)])).toBe(true);
      expect(await t.metric('rb_mqtt_protocol_errors_total', { reason })).toBe(1);
      expect(await t.hub.store.query({ limit: 5 })).toEqual([]);

      client = await t.connect(gw);
      closed = new Promise<void>((r) => client.once('close', () => r()));
      streamOf(client).write(rawSubscribe(Buffer.concat([topic.subarray(0, topic.length - 6), Buffer.from('/cmd')])));
      expect(await Promise.race([closed.then(() => true), sleep(2_000).then(() => false)])).toBe(true);
      expect(await t.metric('rb_mqtt_protocol_errors_total', { reason })).toBe(2);

      // and the ACL for well-formed filters is unchanged: own cmd topics only, never '#'
      client = await t.connect(gw);
      expect(await subscribeGranted(client, '#')).toEqual([128]);
      expect(await subscribeGranted(client, topics.gatewayCommands(E, 'gw-1'))).toEqual([1]);
    }, 15_000);
  }
});
