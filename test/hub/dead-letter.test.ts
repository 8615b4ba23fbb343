import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { encodePayload, type DeadLetter } from '../../hub/ingest/dead-letter.js';
import { topics } from '../../protocol/index.js';
import { makeEvent, publishOutcome, startTestHub, type TestHub } from '../support/hub.js';

/** Poison messages land in a bounded dead-letter table with their reason, visible over REST, without slowing valid traffic. */

const TOKEN = 'admin-token-0123456789';
const E = 'maple';
const G = 'gw-1';
const D = 'gate-1';
let t: TestHub | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});
const root = mkdtempSync(join(tmpdir(), 'rb-dead-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function deadLetters(query = ''): Promise<{ items: DeadLetter[]; total: number }> {
  const res = await fetch(`${t!.httpUrl}/api/v1/admin/dead-letters${query}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as { items: DeadLetter[]; total: number };
}

describe('dead letters over REST', () => {
  it('each kind of bad input lands with its reason, topic and payload; the gateway carries on', async () => {
    t = await startTestHub({ apiToken: TOKEN, maxPayloadBytes: 8 * 1024 });
    const client = await t.connect(await t.provision(E, G));
    const ev = topics.event(E, G, D);
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x7b]);
    const cases: Array<[reason: string, topic: string, payload: string | Buffer]> = [
      ['malformed-json', ev, '{"v":1,"id":'],
      ['schema', ev, JSON.stringify({ ...makeEvent({ estate: E, gateway: G, device: D }), seq: -1 })],
      ['unknown-type', ev, JSON.stringify({ ...makeEvent({ estate: E, gateway: G, device: D }), type: 'door.exploded' })],
      ['topic-mismatch', ev, JSON.stringify(makeEvent({ estate: E, gateway: G, device: 'gate-2' }))],
      ['too-large', ev, `{"pad":"${'x'.repeat(10_000)}"}`],
      ['malformed-json', ev, binary],
      ['schema', topics.status(E, G), JSON.stringify({ v: 1, estate: E, gateway: G, state: 'sleepy', ts: 1 })],
      ['malformed-json', topics.cmdResult(E, G, D), 'not json'],
    ];
    for (const [, topic, payload] of cases) expect(await publishOutcome(client, topic, payload)).toBe('acked');
    const valid = makeEvent({ estate: E, gateway: G, device: D });
    expect(await publishOutcome(client, ev, JSON.stringify(valid))).toBe('acked');
    expect(await t.events()).toEqual([valid]);

    const { items, total } = await deadLetters();
    expect(total).toBe(cases.length);
    const oldestFirst = items.reverse();
    expect(oldestFirst.map((d) => [d.reason, d.topic])).toEqual(cases.map(([r, topic]) => [r, topic]));
    for (const d of oldestFirst) expect(d).toMatchObject({ estate: E, gateway: G, message: expect.any(String), receivedAt: expect.any(Number) });
    expect(oldestFirst[0]).toMatchObject({ payload: '{"v":1,"id":', encoding: 'utf8', truncated: false });
    expect(oldestFirst[4]).toMatchObject({ bytes: 10_010, truncated: true, encoding: 'utf8' });
    expect(oldestFirst[4]!.payload).toHaveLength(4096);
    expect(oldestFirst[5]).toMatchObject({ encoding: 'base64', payload: binary.toString('base64') });
    expect(oldestFirst[2]!.message).toMatch(/door\.exploded/);

    expect((await deadLetters('?reason=schema&limit=1')).items).toEqual([expect.objectContaining({ reason: 'schema', topic: topics.status(E, G) })]);
    // the counter stays
    expect(await t.metric('rb_messages_rejected_total', { reason: 'malformed-json' })).toBe(3);
  }, 30_000);

  it('a flood of 5,000 poison messages does not slow valid events (measured) and stays bounded', async () => {
    t = await startTestHub({ apiToken: TOKEN });
    const good = await t.connect(await t.provision(E, G));
    const bad = await t.connect(await t.provision(E, 'gw-2'));
    const latencies = async (n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        expect(await publishOutcome(good, topics.event(E, G, D), JSON.stringify(makeEvent({ estate: E, gateway: G, device: D })))).toBe('acked');
        out.push(performance.now() - t0);
      }
      return out.sort((a, b) => a - b);
    };
    const p = (xs: number[], q: number): number => xs[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
    const baseline = await latencies(50);

    const floodStart = performance.now();
    const flood = Promise.all(
      Array.from({ length: 5_000 }, (_, i) => bad.publishAsync(topics.event(E, 'gw-2', D), `{"poison":${i},`, { qos: 1 })),
    ).then(() => performance.now() - floodStart);
    const during = await latencies(50);
    const floodMs = await flood;
    console.log(
      `dead letters: valid event ack p50/p95 ${p(baseline, 0.5).toFixed(1)}/${p(baseline, 0.95).toFixed(1)} ms alone, ` +
        `${p(during, 0.5).toFixed(1)}/${p(during, 0.95).toFixed(1)} ms during a flood of 5,000 poison messages (flood acked in ${floodMs.toFixed(0)} ms)`,
    );
    expect(await t.metric('rb_messages_rejected_total', { reason: 'malformed-json' })).toBe(5_000);
    expect(await t.metric('rb_messages_accepted_total')).toBe(100);
    expect((await deadLetters()).total).toBe(5_000);
    // Generous bound for a loaded 2-core CI box: the flood shares one event loop, it must not stall it.
    expect(p(during, 0.5)).toBeLessThan(Math.max(10 * p(baseline, 0.5), 100));
  }, 60_000);
});

// The table itself (pruning, ordering, loss accounting) is tested on both engines by
// test/hub/platform/dead-letters.contract.ts.
describe('dead-letter payloads', () => {
  it('keeps UTF-8 as text without cutting a character, anything else as base64', () => {
    const s = 'é'.repeat(10); // 2 bytes each
    expect(encodePayload(Buffer.from(s), 5)).toEqual({ text: 'éé', encoding: 'utf8' });
    expect(encodePayload(Buffer.from([0xc3]), 5)).toEqual({ text: 'ww==', encoding: 'base64' });
  });
});
