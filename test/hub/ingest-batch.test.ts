import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { LogEntry, LogEntryInput } from '../../hub/eventlog/index.js';
import { createIngest } from '../../hub/ingest/ingest.js';
import { createMetrics } from '../../hub/metrics.js';
import type { EventStore } from '../../hub/store/types.js';
import type { GatewayIdentity } from '../../hub/registry.js';
import type { ParsedTopic } from '../../protocol/index.js';
import { makeEvent } from '../support/hub.js';

/**
 * Group commit: ingest writes one batch at a time; what arrives while a batch is written goes in the
 * next batch, whole, in arrival order, and each event is acknowledged only after its own batch
 * committed. A log whose appends are held open stands in for a slow database.
 */
describe('ingest batches (group commit)', () => {
  it('one batch in flight; the events that arrive meanwhile are the next batch, in order; verdicts follow their own commit', async () => {
    const appended: string[][] = [];
    const releases: Array<() => void> = [];
    const feed = {
      append(entries: readonly LogEntryInput[]): Promise<LogEntry[]> {
        appended.push(entries.map((e) => e.key));
        const n = appended.length;
        const committed = entries.map((e, i) => ({ ...e, pos: n * 1000 + i, part: 0, at: 0 }) as LogEntry);
        return new Promise((resolve) => releases.push(() => resolve(committed)));
      },
    };
    const store = { kind: 'influxdb' } as unknown as EventStore; // InfluxDB's shape: a consumer of the log, not written by ingest
    const ingest = createIngest({ store, feed, metrics: createMetrics(), log: pino({ level: 'silent' }), maxPayloadBytes: 8192, maxResultBytes: 65536 });
    const who = { estate: 'e1', gateway: 'gw-1' } as GatewayIdentity;
    const topic = { kind: 'event', estate: 'e1', gateway: 'gw-1', device: 'gate-1' } as ParsedTopic;
    const events = Array.from({ length: 31 }, (_, i) => makeEvent({ estate: 'e1', gateway: 'gw-1', device: 'gate-1', seq: i + 1 }));
    const settled: number[] = [];
    const send = (i: number) => ingest.handle(who, topic, Buffer.from(JSON.stringify(events[i]))).then((v) => (expect(v.action).toBe('accept'), settled.push(i)));
    const turn = () => new Promise((r) => setImmediate(r));

    const first = send(0);
    await turn();
    expect(appended).toEqual([[events[0]!.id]]);
    // 30 more over several turns while the first batch is being written: no append of their own yet.
    const rest: Array<Promise<unknown>> = [];
    for (let i = 1; i <= 30; i++) {
      rest.push(send(i));
      if (i % 10 === 0) await turn();
    }
    await turn();
    expect(appended).toHaveLength(1);
    expect(settled).toEqual([]);
    releases[0]!();
    await first;
    await turn();
    expect(settled).toEqual([0]);
    // Then the 30 as one batch, in arrival order; not acknowledged before it commits.
    expect(appended).toHaveLength(2);
    expect(appended[1]).toEqual(events.slice(1).map((e) => e.id));
    expect(settled).toEqual([0]);
    releases[1]!();
    await Promise.all(rest);
    expect(settled).toEqual(Array.from({ length: 31 }, (_, i) => i));
  });
});
