import type { Logger } from 'pino';
import { CommandResult, GatewayStatus, decodeEvent, topics, type ParsedTopic, type RbEvent } from '../../protocol/index.js';
import { entryOf, type LogEntryInput, type LogFeed } from '../eventlog/index.js';
import type { Metrics } from '../metrics.js';
import { fastObserver } from '../metrics-fast.js';
import type { EventStore } from '../store/types.js';
import type { GatewayIdentity } from '../registry.js';
import type { DeadLetters } from './dead-letter.js';

function topicString(t: ParsedTopic): string {
  return t.kind === 'status' ? topics.status(t.estate, t.gateway) : topics.device(t.kind, t.estate, t.gateway, t.device);
}

/**
 * What the broker should do with a publish:
 * - `accept`: the message is valid, durable in the store (events) and committed to the event log
 *   (or a duplicate of what is there); acknowledge it.
 * - `drop`: the message is invalid; acknowledge it (a retry cannot fix it) but store nothing.
 * - `refuse`: the sender broke the ACL; close its connection.
 * - `retry`: the store or the log failed; do not acknowledge, so the gateway keeps the message and sends it again.
 */
export type IngestVerdict =
  | { action: 'accept' }
  | { action: 'drop'; reason: string; message: string }
  | { action: 'refuse'; reason: string; message: string }
  | { action: 'retry'; reason: string; message: string };

export interface IngestDeps {
  store: EventStore;
  /**
   * The event log (hub/eventlog): accepted messages are appended to it in the transaction that
   * decides duplicates (its key is the event id) and delivered to the consumers once committed.
   */
  feed: Pick<LogFeed, 'append'>;
  metrics: Metrics;
  log: Logger;
  maxPayloadBytes: number;
  /** Largest command result accepted (results may carry a snapshot). */
  maxResultBytes: number;
  /** Where dropped (poison) messages are kept with their reason; optional. */
  deadLetters?: DeadLetters;
  /**
   * Why events must not be acknowledged now, if so: a consumer that writes them elsewhere cannot
   * keep up (InfluxDB and its spool, hub/store/influx-sink.ts). The gateways keep them and send again.
   */
  refusing?: () => string | undefined;
}

export interface Ingest {
  handle(who: GatewayIdentity, topic: ParsedTopic, payload: Buffer): Promise<IngestVerdict>;
}

/** Seconds since a performance.now() reading (a double: no BigInt allocated per event, unlike hrtime.bigint). */
const since = (from: number): number => (performance.now() - from) / 1000;

export function createIngest(deps: IngestDeps): Ingest {
  const { store, feed, metrics, log } = deps;
  // Label children bound once: a labelled inc()/observe() hashes its labels on every call.
  const receivedEvent = metrics.received.labels('event');
  // The per-event observations (validate, store latency) through fastObserver (hub/metrics-fast.ts).
  const observeValidate = fastObserver(metrics.ingestStage, { stage: 'validate' });
  const observeStored = fastObserver(metrics.storeLatency);
  const stage = {
    queue: metrics.ingestStage.labels('queue'),
    store: metrics.ingestStage.labels('store'),
    dedup: metrics.ingestStage.labels('dedup'),
  };
  // Writes in progress, so two copies of one event arriving together produce one store write: the
  // second copy waits for the first one's verdict.
  type Waiter = { event: RbEvent; resolve: (v: IngestVerdict) => void; copies?: Array<(v: IngestVerdict) => void> };
  const pending = new Map<string, Waiter>();

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

  // Events accepted in one event-loop turn are stored together: one store write and one log
  // transaction for the batch instead of one per event (with the embedded store, both are one
  // transaction). aedes hands every publish of a socket read to authorizePublish at once, so a busy
  // gateway fills batches.
  // One batch is written at a time (group commit): what arrives while it is written waits and goes
  // in the next batch, whole, instead of as many small batches queued one behind the other on the
  // log's serialised appends (a transaction per turn). On PostgreSQL, where a batch waits on round
  // trips, this is what keeps batches big; the log appends one batch at a time in any case.
  let batch: Waiter[] = [];
  let batchSince = 0;
  let flushing: NodeJS.Immediate | undefined;
  let writing = false;
  function scheduleFlush(): void {
    if (flushing || writing || batch.length === 0) return;
    flushing = setImmediate(() => {
      flushing = undefined;
      writing = true;
      void flush().finally(() => {
        writing = false;
        scheduleFlush();
      });
    });
  }
  const ACCEPT: IngestVerdict = Object.freeze({ action: 'accept' });

  function settle(w: Waiter, verdict: IngestVerdict): void {
    pending.delete(w.event.id);
    w.resolve(verdict);
    if (w.copies) for (const c of w.copies) c(verdict);
  }
  function retry(waiters: readonly Waiter[], reason: string, err: unknown, what: string): void {
    metrics.rejected.inc({ reason }, waiters.length);
    log.error({ err, events: waiters.length }, `${what} failed; the gateways will send these events again`);
    const verdict: IngestVerdict = { action: 'retry', reason, message: (err as Error).message };
    for (const w of waiters) settle(w, verdict);
  }

  const eventEntry = (e: RbEvent): LogEntryInput => ({ key: e.id, kind: 'event', estate: e.estate, body: e });

  // The log delivers a committed batch to its consumers (live state, alerts, push, facts) on a later
  // turn: the verdicts resolve first, so aedes writes the batch's PUBACKs before the consumers run.
  // The ack follows the commit; a hub killed after it resumes every consumer from its cursor.
  async function flush(): Promise<void> {
    const waiters = batch;
    batch = [];
    const started = performance.now();
    stage.queue.observe((started - batchSince) / 1000);
    metrics.ingestBatch.observe(waiters.length);
    const events = waiters.map((w) => w.event);
    // The embedded store writes the events in the log's transaction; InfluxDB is a consumer of the
    // log (hub/store/influx-sink.ts): the log's commit is the one the acknowledgement waits for.
    const writeIn = store.writeIn?.bind(store);
    const refused = deps.refusing?.();
    if (refused !== undefined) {
      retry(waiters, 'store', new Error(refused), 'event store');
      return;
    }
    const logStarted = performance.now();
    let fresh: number;
    try {
      const committed = await feed.append(
        events.map(eventEntry),
        // The embedded store: the new events' rows in the log's transaction.
        writeIn ? (trx, added) => writeIn(trx, added.length === events.length ? events : added.map((a) => a.body as RbEvent)) : undefined,
      );
      fresh = committed.length;
    } catch (err) {
      retry(waiters, writeIn ? 'store' : 'dedup', err, 'event log append');
      return;
    }
    const logged = since(logStarted);
    stage.dedup.observe(logged);
    stage.store.observe(logged);
    // Duplicates of events already in the log: acknowledged, stored and delivered once.
    if (fresh < events.length) metrics.deduplicated.inc(events.length - fresh);
    metrics.accepted.inc(fresh);
    const stored = since(started);
    for (const w of waiters) {
      observeStored(stored);
      settle(w, ACCEPT);
    }
  }

  function storeEvent(event: RbEvent): Promise<IngestVerdict> {
    const inFlight = pending.get(event.id);
    if (inFlight) {
      // Being stored by this very batch: answer as that write does.
      metrics.deduplicated.inc();
      return new Promise<IngestVerdict>((resolve) => (inFlight.copies ??= []).push(resolve));
    }
    return new Promise<IngestVerdict>((resolve) => {
      const w: Waiter = { event, resolve };
      if (batch.length === 0) batchSince = performance.now();
      batch.push(w);
      pending.set(event.id, w);
      scheduleFlush();
    });
  }

  /** Append one status or command result; accepted once committed. */
  async function logOne(entry: LogEntryInput, context: Record<string, unknown>): Promise<IngestVerdict> {
    try {
      await feed.append([entry]);
      return ACCEPT;
    } catch (err) {
      metrics.rejected.inc({ reason: 'dedup' });
      log.error({ err, ...context }, 'event log append failed; the gateway will send it again');
      return { action: 'retry', reason: 'dedup', message: (err as Error).message };
    }
  }

  function handleEvent(who: GatewayIdentity, topic: Extract<ParsedTopic, { device: string }>, payload: Buffer): Promise<IngestVerdict> {
    // The hot path: no context object, no label lookup unless the message is refused; a plain
    // function (not async), so an event costs one promise, its verdict.
    receivedEvent.inc();
    const started = performance.now();
    const result = decodeEvent(payload, deps.maxPayloadBytes);
    if (!result.ok || result.event.estate !== topic.estate || result.event.gateway !== topic.gateway || result.event.device !== topic.device) {
      const context = { estate: who.estate, gateway: who.gateway, kind: topic.kind, device: topic.device };
      const raw = { who, topic, payload };
      return Promise.resolve(
        result.ok
          ? dropMessage(raw, 'topic-mismatch', 'envelope estate/gateway/device differ from the topic', { ...context, id: result.event.id })
          : dropMessage(raw, result.reason, result.message, { ...context, bytes: payload.length }),
      );
    }
    observeValidate(since(started));
    return storeEvent(result.event);
  }

  return {
    handle(who, topic, payload) {
      return topic.kind === 'event' ? handleEvent(who, topic, payload) : handleOther(who, topic, payload);
    },
  };

  async function handleOther(who: GatewayIdentity, topic: ParsedTopic, payload: Buffer): Promise<IngestVerdict> {
      const drop = (reason: string, message: string, context: Record<string, unknown>): IngestVerdict =>
        dropMessage({ who, topic, payload }, reason, message, context);
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
          return logOne(entryOf('gateway.status', status.data), context);
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
          return logOne(entryOf('command.result', { estate: topic.estate, gateway: topic.gateway, result: result.data }), context);
        }
        case 'state':
          // Device state gets its schema with the live-state issue; accepted as-is until then.
          return { action: 'accept' };
        case 'cmd':
          metrics.rejected.inc({ reason: 'acl' });
          return { action: 'refuse', reason: 'acl', message: 'gateways do not publish commands' };
        case 'event':
          return handleEvent(who, topic, payload);
      }
  }
}
