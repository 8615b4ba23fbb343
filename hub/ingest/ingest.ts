import type { Logger } from 'pino';
import { CommandResult, GatewayStatus, decodeEvent, topics, type ParsedTopic, type RbEvent } from '../../protocol/index.js';
import type { Bus } from '../bus.js';
import type { Metrics } from '../metrics.js';
import type { EventStore } from '../store/types.js';
import type { GatewayIdentity } from '../registry.js';
import type { DedupWindow } from './dedup.js';
import type { DeadLetters } from './dead-letter.js';

function topicString(t: ParsedTopic): string {
  return t.kind === 'status' ? topics.status(t.estate, t.gateway) : topics.device(t.kind, t.estate, t.gateway, t.device);
}

/**
 * What the broker should do with a publish:
 * - `accept`: the message is valid and, for events, durable in the store; acknowledge it.
 * - `drop`: the message is invalid; acknowledge it (a retry cannot fix it) but store nothing.
 * - `refuse`: the sender broke the ACL; close its connection.
 * - `retry`: the store failed; do not acknowledge, so the gateway keeps the event and sends it again.
 */
export type IngestVerdict =
  | { action: 'accept' }
  | { action: 'drop'; reason: string; message: string }
  | { action: 'refuse'; reason: string; message: string }
  | { action: 'retry'; reason: string; message: string };

export interface IngestDeps {
  store: EventStore;
  bus: Bus;
  metrics: Metrics;
  log: Logger;
  maxPayloadBytes: number;
  /** Largest command result accepted (results may carry a snapshot). */
  maxResultBytes: number;
  /** Ids already accepted, kept across restarts. */
  dedup: DedupWindow;
  /** Where dropped (poison) messages are kept with their reason; optional. */
  deadLetters?: DeadLetters;
}

export interface Ingest {
  handle(who: GatewayIdentity, topic: ParsedTopic, payload: Buffer): Promise<IngestVerdict>;
}

const seconds = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e9;

export function createIngest(deps: IngestDeps): Ingest {
  const { store, bus, metrics, log, dedup } = deps;
  // Label children bound once: a labelled inc()/observe() hashes its labels on every call.
  const receivedEvent = metrics.received.labels('event');
  const stage = {
    validate: metrics.ingestStage.labels('validate'),
    queue: metrics.ingestStage.labels('queue'),
    store: metrics.ingestStage.labels('store'),
    dedup: metrics.ingestStage.labels('dedup'),
  };
  // Writes in progress, so two copies of one event arriving together produce one store write.
  const pending = new Map<string, Promise<void>>();

  type Raw = { who: GatewayIdentity; topic: ParsedTopic; payload: Buffer };
  function dropMessage(raw: Raw, reason: string, message: string, context: Record<string, unknown>): IngestVerdict {
    metrics.rejected.inc({ reason });
    log.warn({ reason, ...context }, `rejected message: ${message}`);
    // record() only queues (written in the background): the ack does not wait, and it cannot fail the drop.
    try {
      deps.deadLetters?.record({ estate: raw.who.estate, gateway: raw.who.gateway, topic: topicString(raw.topic), reason, message, payload: raw.payload });
    } catch (err) {
      log.error({ err }, 'dead letter not recorded');
    }
    return { action: 'drop', reason, message };
  }

  // Events accepted in one event-loop turn are stored together: one store write (one transaction, or
  // one InfluxDB request) and one dedup transaction for the batch instead of one per event. aedes
  // hands every publish of a socket read to authorizePublish at once, so a busy gateway fills batches.
  type Waiter = { event: RbEvent; resolve: (v: IngestVerdict) => void };
  let batch: Waiter[] = [];
  let batchSince = 0n;
  let flushing: NodeJS.Immediate | undefined;

  async function flush(): Promise<void> {
    flushing = undefined;
    const waiters = batch;
    batch = [];
    const started = process.hrtime.bigint();
    stage.queue.observe(Number(started - batchSince) / 1e9);
    metrics.ingestBatch.observe(waiters.length);
    const events = waiters.map((w) => w.event);
    try {
      await store.write(events);
    } catch (err) {
      metrics.rejected.inc({ reason: 'store' }, events.length);
      log.error({ err, events: events.length }, 'event store write failed; the gateways will send these events again');
      for (const w of waiters) w.resolve({ action: 'retry', reason: 'store', message: (err as Error).message });
      return;
    } finally {
      for (const e of events) pending.delete(e.id);
    }
    const stored = seconds(started);
    stage.store.observe(stored);
    const dedupStarted = process.hrtime.bigint();
    dedup.addMany(events.map((e) => e.id));
    stage.dedup.observe(seconds(dedupStarted));
    metrics.accepted.inc(waiters.length);
    for (const w of waiters) {
      metrics.storeLatency.observe(stored);
      bus.emit('event', w.event);
      w.resolve({ action: 'accept' });
    }
  }

  async function storeEvent(event: RbEvent): Promise<IngestVerdict> {
    const inFlight = pending.get(event.id);
    if (inFlight || dedup.has(event.id)) {
      // Stored already, or being stored by this very batch: acknowledge once that write is done.
      metrics.deduplicated.inc();
      if (inFlight) await inFlight.catch(() => undefined);
      return { action: 'accept' };
    }
    const verdict = new Promise<IngestVerdict>((resolve) => batch.push({ event, resolve }));
    pending.set(event.id, verdict.then(() => undefined));
    if (!flushing) {
      batchSince = process.hrtime.bigint();
      flushing = setImmediate(() => void flush());
    }
    return verdict;
  }

  return {
    async handle(who, topic, payload) {
      const drop = (reason: string, message: string, context: Record<string, unknown>): IngestVerdict =>
        dropMessage({ who, topic, payload }, reason, message, context);
      if (topic.kind === 'event') {
        // The hot path: no context object, no label lookup unless the message is refused.
        receivedEvent.inc();
        const started = process.hrtime.bigint();
        const result = decodeEvent(payload, deps.maxPayloadBytes);
        const context = (): Record<string, unknown> => ({ estate: who.estate, gateway: who.gateway, kind: topic.kind, device: topic.device });
        if (!result.ok) return drop(result.reason, result.message, { ...context(), bytes: payload.length });
        const e = result.event;
        if (e.estate !== topic.estate || e.gateway !== topic.gateway || e.device !== topic.device) {
          return drop('topic-mismatch', 'envelope estate/gateway/device differ from the topic', { ...context(), id: e.id });
        }
        stage.validate.observe(seconds(started));
        return storeEvent(e);
      }
      metrics.received.inc({ kind: topic.kind });
      const context = { estate: who.estate, gateway: who.gateway, kind: topic.kind };
      switch (topic.kind) {
        case 'status': {
          if (payload.length > deps.maxPayloadBytes) return drop('too-large', `status of ${payload.length} bytes`, context);
          let value: unknown;
          try {
            value = JSON.parse(payload.toString('utf8'));
          } catch (err) {
            return drop('malformed-json', (err as Error).message, context);
          }
          const status = GatewayStatus.safeParse(value);
          if (!status.success) return drop('schema', status.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), context);
          if (status.data.estate !== topic.estate || status.data.gateway !== topic.gateway) {
            return drop('topic-mismatch', 'status estate/gateway differ from the topic', context);
          }
          bus.emit('gateway.status', status.data);
          return { action: 'accept' };
        }
        case 'cmd/result': {
          // Results may carry a snapshot (base64), so their cap is larger than an event's.
          if (payload.length > deps.maxResultBytes) return drop('too-large', `command result of ${payload.length} bytes`, context);
          let value: unknown;
          try {
            value = JSON.parse(payload.toString('utf8'));
          } catch (err) {
            return drop('malformed-json', (err as Error).message, context);
          }
          const result = CommandResult.safeParse(value);
          if (!result.success) return drop('schema', result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), context);
          if (result.data.device !== topic.device) return drop('topic-mismatch', 'result device differs from the topic', context);
          bus.emit('command.result', { estate: topic.estate, gateway: topic.gateway, result: result.data });
          return { action: 'accept' };
        }
        case 'state':
          // Device state gets its schema with the live-state issue; accepted as-is until then.
          return { action: 'accept' };
        case 'cmd':
          metrics.rejected.inc({ reason: 'acl' });
          return { action: 'refuse', reason: 'acl', message: 'gateways do not publish commands' };
      }
    },
  };
}
