import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayCredentials } from '../../hub/registry.js';
import { topics, type RbEvent } from '../../protocol/index.js';
import {
  captureLog,
  makeEvent,
  publishOutcome,
  startTestHub,
  type LogLine,
  type PublishOutcome,
  type TestHub,
} from '../support/hub.js';

/**
 * Bad input from an authenticated gateway: each kind gets its reason counter and a warn line, stores
 * nothing, loses nothing already accepted, and the hub accepts the next valid event.
 */

const E = 'estate-a';
const G = 'gw-1';
const D = 'gate-1';
const WARN = 40;

interface Ctx {
  t: TestHub;
  creds: GatewayCredentials;
  client: MqttClient;
  lines: LogLine[];
  /** Accepted before the bad input. */
  before: RbEvent;
}

let running: TestHub | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** A hub with one gateway connected and one event already accepted. */
async function setup(opts: { maxPayloadBytes?: number } = {}): Promise<Ctx> {
  const { log, lines } = captureLog();
  const t = await startTestHub({ ...opts, log });
  running = t;
  const creds = await t.provision(E, G);
  const client = await t.connect(creds);
  const before = makeEvent({ estate: E, gateway: G, device: D, ts: Date.now() - 60_000 });
  expect(await publishOutcome(client, topics.event(E, G, D), JSON.stringify(before))).toBe('acked');
  expect(await t.events()).toEqual([before]);
  return { t, creds, client, lines, before };
}

/**
 * After the bad input: the reason counter is exactly 1, nothing was stored or lost, and a valid event
 * is accepted right after (on the same connection if the hub kept it, else on a new one).
 */
async function expectRejectedAndStillServing(ctx: Ctx, reason: string): Promise<void> {
  const { t } = ctx;
  expect(await t.metric('rb_messages_rejected_total', { reason })).toBe(1);
  expect(await t.metric('rb_messages_rejected_total')).toBe(1); // and under no other reason
  expect(await t.events()).toEqual([ctx.before]);
  expect(await t.metric('rb_messages_accepted_total')).toBe(1);

  const client = ctx.client.connected ? ctx.client : await t.connect(ctx.creds);
  const after = makeEvent({ estate: E, gateway: G, device: D });
  expect(await publishOutcome(client, topics.event(E, G, D), JSON.stringify(after))).toBe('acked');
  expect(await t.events()).toEqual([after, ctx.before]);
  expect(await t.metric('rb_messages_accepted_total')).toBe(2);
}

function warnLines(ctx: Ctx, pattern: RegExp): LogLine[] {
  return ctx.lines.filter((l) => l.level === WARN && pattern.test(l.msg));
}

describe('event payloads the hub drops (acknowledged: a retry cannot fix them)', () => {
  it('malformed JSON -> malformed-json, with a clear warn line', async () => {
    const ctx = await setup();
    const outcome = await publishOutcome(ctx.client, topics.event(E, G, D), '{"v":1,"id":');
    expect(outcome).toBe('acked');
    expect(ctx.client.connected).toBe(true);
    await expectRejectedAndStillServing(ctx, 'malformed-json');

    const warns = warnLines(ctx, /^rejected message: /);
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ module: 'hub.ingest', reason: 'malformed-json', estate: E, gateway: G, device: D, kind: 'event' });
    expect(warns[0]!.msg).toMatch(/JSON/);
  }, 10_000);

  it('valid JSON failing the envelope schema -> schema', async () => {
    const ctx = await setup();
    const bad = { ...makeEvent({ estate: E, gateway: G, device: D }), seq: -1 };
    expect(await publishOutcome(ctx.client, topics.event(E, G, D), JSON.stringify(bad))).toBe('acked');
    await expectRejectedAndStillServing(ctx, 'schema');
    expect(warnLines(ctx, /seq/)).toHaveLength(1);
  }, 10_000);

  it('valid JSON failing the data schema of its type -> schema', async () => {
    const ctx = await setup();
    const bad = makeEvent({ estate: E, gateway: G, device: D, data: { door: 'one' } });
    expect(await publishOutcome(ctx.client, topics.event(E, G, D), JSON.stringify(bad))).toBe('acked');
    await expectRejectedAndStillServing(ctx, 'schema');
    expect(warnLines(ctx, /door\.forced.*door/)).toHaveLength(1);
  }, 10_000);

  it('an unknown event type -> unknown-type', async () => {
    const ctx = await setup();
    const bad = { ...makeEvent({ estate: E, gateway: G, device: D }), type: 'door.exploded' };
    expect(await publishOutcome(ctx.client, topics.event(E, G, D), JSON.stringify(bad))).toBe('acked');
    await expectRejectedAndStillServing(ctx, 'unknown-type');
    expect(warnLines(ctx, /door\.exploded/)).toHaveLength(1);
  }, 10_000);

  it('an envelope device that differs from the topic -> topic-mismatch', async () => {
    const ctx = await setup();
    const bad = makeEvent({ estate: E, gateway: G, device: 'gate-2' });
    expect(await publishOutcome(ctx.client, topics.event(E, G, D), JSON.stringify(bad))).toBe('acked');
    await expectRejectedAndStillServing(ctx, 'topic-mismatch');
    expect(warnLines(ctx, /differ from the topic/)).toHaveLength(1);
  }, 10_000);

  it('a payload over the configured cap -> too-large', async () => {
    const ctx = await setup({ maxPayloadBytes: 1024 });
    // A valid event padded with JSON whitespace to 2 KiB: without the cap it would be stored.
    const json = JSON.stringify(makeEvent({ estate: E, gateway: G, device: D }));
    const padded = json + ' '.repeat(2048 - json.length);
    expect(Buffer.byteLength(padded)).toBe(2048);
    expect(await publishOutcome(ctx.client, topics.event(E, G, D), padded)).toBe('acked');
    await expectRejectedAndStillServing(ctx, 'too-large');
    expect(warnLines(ctx, /2048 bytes exceeds 1024/)).toHaveLength(1);
  }, 10_000);
});

describe('bad ids in the topic: the hub closes the connection', () => {
  // Each topic is under the gateway's own prefix, so only topic validation can refuse it.
  const cases: Array<[string, string]> = [
    ['"/" in the device id (an extra level)', `rb/v1/${E}/${G}/gate/1/event`],
    ['"+" in the device id (MQTT forbids wildcards in PUBLISH; aedes refuses it)', `rb/v1/${E}/${G}/gate+1/event`],
    ['"#" in the device id (MQTT forbids wildcards in PUBLISH; aedes refuses it)', `rb/v1/${E}/${G}/gate#1/event`],
    ['NUL in the device id', `rb/v1/${E}/${G}/gate\u00001/event`],
    ['upper case in the device id', `rb/v1/${E}/${G}/Gate-1/event`],
    ['a device id of 65 characters', `rb/v1/${E}/${G}/${'d'.repeat(65)}/event`],
  ];

  for (const [name, topic] of cases) {
    it(`${name} -> bad-topic`, async () => {
      const ctx = await setup();
      // a valid event for a valid device: only the topic is wrong
      const payload = JSON.stringify(makeEvent({ estate: E, gateway: G, device: D }));
      const outcome: PublishOutcome = await publishOutcome(ctx.client, topic, payload);
      expect(outcome).toBe('closed');
      expect(ctx.client.connected).toBe(false);
      await expectRejectedAndStillServing(ctx, 'bad-topic');
      const warns = warnLines(ctx, /^publish refused: /);
      expect(warns).toHaveLength(1);
      expect(warns[0]).toMatchObject({ module: 'hub.broker', estate: E, gateway: G });
    }, 10_000);
  }
});
