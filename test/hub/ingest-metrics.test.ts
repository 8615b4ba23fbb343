import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topics } from '../../protocol/index.js';
import { makeEvent, metricValue, startTestHub, waitFor, type TestHub } from '../support/hub.js';

/** Ingest latency metrics on a real hub's /metrics, after real MQTT QoS 1 traffic. */

const E = 'estate-m';
let t: TestHub;

beforeEach(async () => {
  t = await startTestHub();
});

afterEach(async () => {
  await t?.stop();
});

async function metricsText(): Promise<string> {
  const res = await fetch(`${t.httpUrl}/metrics`, { headers: t.apiToken ? { authorization: `Bearer ${t.apiToken}` } : {} });
  expect(res.status).toBe(200);
  return res.text();
}

/** One histogram's `_count` / `_sum` series, by label set (the metric must be exposed). */
function series(text: string, name: string, part: 'count' | 'sum'): Map<string, number> {
  metricValue(text, name); // throws when the hub does not expose it
  const out = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_${part}(?:\\{(.*)\\})? (\\S+)$`, 'gm'))) out.set(m[1] ?? '', Number(m[2]));
  return out;
}

describe('ingest metrics', () => {
  it('times every PUBLISH to its verdict, each ingest stage, and the batch sizes, with fixed labels', async () => {
    const client = await t.connect(await t.provision(E, 'gw-1'));
    const events = Array.from({ length: 50 }, (_, i) => makeEvent({ estate: E, gateway: 'gw-1', device: 'gate-1', seq: i + 1 }));
    const topic = topics.event(E, 'gw-1', 'gate-1');
    await Promise.all(events.map((e) => client.publishAsync(topic, JSON.stringify(e), { qos: 1 })));
    await client.publishAsync(topic, JSON.stringify(events[0]), { qos: 1 }); // a re-delivery
    await client.publishAsync(topic, '{"not": "an event"}', { qos: 1 }); // refused by the schema, still acknowledged
    expect(await waitFor(async () => (await t.metric('rb_messages_accepted_total')) === 50)).toBe(true);

    const text = await metricsText();
    // Every PUBLISH, whatever its verdict.
    expect(series(text, 'rb_ingest_ack_seconds', 'count').get('')).toBe(52);
    expect(series(text, 'rb_ingest_ack_seconds', 'sum').get('')).toBeGreaterThan(0);
    // One label per stage and nothing else: the cardinality does not grow with traffic.
    const stages = series(text, 'rb_ingest_stage_seconds', 'count');
    expect([...stages.keys()].sort()).toEqual(['stage="dedup"', 'stage="queue"', 'stage="store"', 'stage="validate"']);
    expect(stages.get('stage="validate"')).toBe(51); // per valid message (the re-delivery too)
    const batches = series(text, 'rb_ingest_batch_events', 'count').get('')!;
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(50);
    for (const s of ['queue', 'store', 'dedup']) expect(stages.get(`stage="${s}"`)).toBe(batches); // per batch
    // Each valid message once (the re-delivery too: the event log's append decides it is a duplicate).
    expect(series(text, 'rb_ingest_batch_events', 'sum').get('')).toBe(51);
    expect(await t.metric('rb_events_deduplicated_total')).toBe(1);
    expect((await t.events({ limit: 100 })).length).toBe(50);
  });
});
