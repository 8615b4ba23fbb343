import type { Logger } from 'pino';
import { ChannelError, type Channel, type SendOutcome } from './channel.js';
import type { NotifyConfig } from './config.js';
import type { NotifyMetrics } from './metrics.js';
import { TEST_PREFIX, type Notifier } from './notifier.js';
import { ORDER_PREFIX } from './order-notice.js';

/** A row about an alert (not a test, not a work order): it has an ack link, and its failure escalates. */
const aboutAlert = (id: string): boolean => !id.startsWith(TEST_PREFIX) && !id.startsWith(ORDER_PREFIX);
import type { Notification, NotificationOutbox } from './outbox.js';
import { maskAddress, renderMessage, type RenderInput } from './render.js';
import { createRateLimits } from './rate.js';
import type { AckLinks } from './types.js';

/**
 * The outbox's sender (docs/notifications.md, "Dispatcher"): after the alert's COMMIT it is woken in
 * memory; besides, it looks for rows due by `next_at` (retries) and every `pollMs` (rows another
 * process queued). At start, rows a crash left `sending` are sent again with the SAME id: the
 * providers that key idempotency on it (OutId, SessionContext, msg uuid, webhook header) recognise
 * the retry, so such a row reaches the person once.
 *
 * Per row: claim (queued → sending, attempts + 1) → render in the route's language → `channel.send`
 * with a per-send timeout → sent / delivered, or a retry with exponential backoff and jitter (a
 * provider's Retry-After is honoured), or failed for good. A person whose every route of a level
 * failed gets their fallback routes (voice); an alert whose every row of its level failed escalates
 * at once instead of waiting for the ack timeout.
 */

/** What the dispatcher needs of an alert: its facts for the text, and whether it still wants a person. */
export interface AlertFacts {
  id: string;
  rule: string;
  severity: number;
  estate: string;
  device: string;
  openedAt: number;
  state: string;
  level: number;
  estateName?: string;
  deviceName?: string;
}

export interface DispatcherDeps {
  outbox: NotificationOutbox;
  notifier: Pick<Notifier, 'queueFallback'>;
  channels: ReadonlyMap<string, Channel>;
  alert(id: string): Promise<AlertFacts | undefined>;
  ackLinks?: AckLinks | undefined;
  /** Escalate an alert at once (hub/alerts/service.ts escalateNow): a no-op unless it is still at `fromLevel`. */
  escalateNow(alertId: string, reason: string, fromLevel: number): Promise<unknown>;
  config: Pick<NotifyConfig, 'sendTimeoutMs' | 'retry' | 'pollMs'>;
  timeZone: string;
  metrics?: NotifyMetrics | undefined;
  log: Logger;
  now?: () => number;
  random?: () => number;
  /** Sends in flight at most (all channels together); default 64. */
  maxInFlight?: number;
}

export interface Dispatcher {
  /** Send again what a crash left `sending`, then start sending. */
  start(): Promise<void>;
  /** Stop taking rows; sends in flight are aborted (their rows are retried by the next start). */
  stop(): Promise<void>;
  /** Look for due rows now (after a COMMIT that queued some). */
  wake(): void;
  /** Resolves when nothing is in flight and no row is due (tests). */
  idle(): Promise<void>;
}

/** Rows read per look. */
const BATCH = 200;
/** How long an alert's state read for one row serves the next rows of the same alert (a storm reads each once). */
const ALERT_CACHE_MS = 1_000;
const ALERT_CACHE_MAX = 5_000;

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { outbox, log, config } = deps;
  const now = deps.now ?? (() => Date.now());
  const random = deps.random ?? Math.random;
  const maxInFlight = deps.maxInFlight ?? 64;
  const limits = createRateLimits();
  const inFlight = new Map<string, Promise<void>>();
  const stopping = new AbortController();
  let running = false;
  let pumping: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  /**
   * Due rows read but not started yet because `maxInFlight` sends were running: the next look starts
   * them before it reads the table again (one read per batch, not one per completed send). A row
   * skipped or taken meanwhile is refused by its claim.
   */
  let ready: Notification[] = [];
  const alerts = new Map<string, { at: number; facts: Promise<AlertFacts | undefined> }>();
  const alertOf = (id: string, at: number): Promise<AlertFacts | undefined> => {
    const hit = alerts.get(id);
    if (hit && at - hit.at < ALERT_CACHE_MS) return hit.facts;
    if (alerts.size >= ALERT_CACHE_MAX) for (const [k, v] of alerts) if (at - v.at >= ALERT_CACHE_MS || alerts.size >= ALERT_CACHE_MAX) alerts.delete(k);
    const facts = deps.alert(id);
    alerts.set(id, { at, facts });
    return facts;
  };

  function arm(at: number): void {
    if (!running) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      wake();
    }, Math.max(0, at - now()));
    timer.unref();
  }

  function wake(): void {
    if (!running) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = pump()
      .catch((err: unknown) => {
        log.error({ err }, 'notification dispatch failed');
        arm(now() + config.pollMs);
      })
      .finally(() => {
        pumping = null;
        if (again) wake();
      });
  }

  async function pump(): Promise<void> {
    let limitedUntil: number | null = null;
    const limited = new Set<string>();
    let more = true;
    while (more && running) {
      again = false;
      const at = now();
      const read = ready.length === 0;
      const rows = (read ? await outbox.due(at, BATCH) : ready).filter((r) => !limited.has(r.channelId) && !inFlight.has(r.id));
      ready = [];
      let progress = 0;
      for (const [i, row] of rows.entries()) {
        if (!running) break;
        if (inFlight.size >= maxInFlight) {
          ready = rows.slice(i);
          break;
        }
        if (limited.has(row.channelId)) continue;
        const channel = deps.channels.get(row.channelId);
        if (!channel) {
          if (await outbox.skip(row.id, { code: 'RB_ERR_NOTIFY_NO_CHANNEL', message: `no channel ${row.channelId} in notify.channels` }, at)) {
            deps.metrics?.skipped.inc({ code: 'RB_ERR_NOTIFY_NO_CHANNEL' });
          }
          progress++;
          continue;
        }
        const alert = row.alertId.startsWith(TEST_PREFIX) ? testFacts(row) : await alertOf(row.alertId, at);
        if (!alert || alert.state === 'acknowledged' || alert.state === 'resolved') {
          if (await outbox.skip(row.id, { code: 'RB_ERR_NOTIFY_NOT_NEEDED', message: alert ? `alert ${alert.state} before it was sent` : 'alert not found' }, at)) {
            deps.metrics?.skipped.inc({ code: 'RB_ERR_NOTIFY_NOT_NEEDED' });
          }
          progress++;
          continue;
        }
        const wait = limits.wait(channel, at);
        if (wait > 0) {
          limited.add(row.channelId);
          limitedUntil = limitedUntil === null ? at + wait : Math.min(limitedUntil, at + wait);
          progress++;
          continue;
        }
        if (!(await outbox.claim(row.id, at))) continue;
        limits.take(channel, at);
        progress++;
        const p = send({ ...row, attempts: row.attempts + 1 }, channel, alert).finally(() => {
          inFlight.delete(row.id);
          wake();
        });
        inFlight.set(row.id, p);
      }
      more = (again || !read || rows.length >= BATCH) && progress > 0 && inFlight.size < maxInFlight;
    }
    // Next look: the next row due later, the end of a rate-limit wait, or the poll, whichever is first.
    const t = now();
    let next = t + config.pollMs;
    const due = await outbox.nextDueAt();
    if (due !== null && due > t) next = Math.min(next, due);
    if (limitedUntil !== null) next = Math.min(next, limitedUntil);
    arm(next);
  }

  async function send(row: Notification, channel: Channel, alert: AlertFacts): Promise<void> {
    const to = maskAddress(row.address, row.channelId);
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(config.sendTimeoutMs)]);
    const t0 = now();
    try {
      const ackUrl = row.userId !== null && deps.ackLinks && aboutAlert(row.alertId) ? await deps.ackLinks.url(row.alertId, row.userId, row.channelId) : undefined;
      const input: RenderInput = { id: row.id, to: row.address ?? { kind: 'group' }, lang: row.lang, alert, level: row.level, timeZone: deps.timeZone, ackUrl };
      const outcome = await untilAborted(channel.send(renderMessage(input), { signal }), signal);
      const at = now();
      await outbox.sent(row.id, outcome, at);
      deps.metrics?.sent.inc({ channel_type: channel.type, state: outcome.state });
      deps.metrics?.latency.observe({ channel_type: channel.type }, (at - t0) / 1000);
      deps.metrics?.queueDelay.observe((at - row.queuedAt) / 1000);
      log.info({ notification: row.id, alert: row.alertId, level: row.level, channel: row.channelId, to, attempt: row.attempts, providerId: outcome.providerId }, 'notification sent');
    } catch (thrown) {
      const err = asChannelError(thrown, signal);
      const at = now();
      deps.metrics?.latency.observe({ channel_type: channel.type }, (at - t0) / 1000);
      const error = { code: err.code, message: err.message };
      if (err.retryable && (row.attempts < config.retry.attempts || stopping.signal.aborted)) {
        const nextAt = stopping.signal.aborted ? at : at + backoff(row.attempts, err.retryAfterMs);
        await outbox.retry(row.id, nextAt, error);
        deps.metrics?.failed.inc({ channel_type: channel.type, code: err.code, final: 'false' });
        log.warn({ notification: row.id, alert: row.alertId, channel: row.channelId, to, attempt: row.attempts, code: err.code, retryInMs: nextAt - at }, 'notification send failed; retrying');
        return;
      }
      await outbox.fail(row.id, error, at);
      deps.metrics?.failed.inc({ channel_type: channel.type, code: err.code, final: 'true' });
      log.warn({ notification: row.id, alert: row.alertId, channel: row.channelId, to, attempt: row.attempts, code: err.code, message: err.message }, 'notification failed');
      if (aboutAlert(row.alertId)) await afterFailure(row);
    }
  }

  /** Exponential from retry.baseMs, capped at retry.maxMs, ±20% jitter; never sooner than the provider asked. */
  function backoff(attempt: number, retryAfterMs?: number): number {
    const exp = Math.min(config.retry.maxMs, config.retry.baseMs * 2 ** Math.max(0, attempt - 1));
    const jittered = Math.round(exp * (0.8 + 0.4 * random()));
    return retryAfterMs !== undefined ? Math.max(jittered, retryAfterMs) : jittered;
  }

  /** A row failed for good: the person's fallback routes, then escalation if the whole level failed. */
  async function afterFailure(row: Notification): Promise<void> {
    const req = { alertId: row.alertId, estate: row.estate, severity: row.severity, level: row.level, at: now() };
    let rows = (await outbox.forAlert(row.alertId)).filter((n) => n.level === row.level);
    if (row.userId !== null && !row.fallback) {
      const own = rows.filter((n) => n.userId === row.userId && !n.fallback && n.state !== 'skipped');
      if (own.length > 0 && own.every((n) => n.state === 'failed')) {
        const queued = await deps.notifier.queueFallback(row.userId, req);
        if (queued > 0) {
          log.info({ alert: row.alertId, level: row.level, user: row.userId, queued }, 'every route of a person failed; fallback routes queued');
          rows = (await outbox.forAlert(row.alertId)).filter((n) => n.level === row.level);
        }
      }
    }
    const live = rows.filter((n) => n.state !== 'skipped');
    if (live.length > 0 && live.every((n) => n.state === 'failed')) {
      log.warn({ alert: row.alertId, level: row.level, failed: live.length }, 'every notification of the level failed; escalating at once');
      deps.metrics?.escalatedNow.inc();
      await deps.escalateNow(row.alertId, `every notification of level ${row.level} failed`, row.level);
    }
  }

  return {
    async start() {
      running = true;
      const recovered = await outbox.recover(now());
      if (recovered > 0) log.warn({ recovered }, 'notifications left sending by a stop or crash are sent again with the same ids');
      wake();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      stopping.abort();
      await pumping;
      await Promise.all(inFlight.values());
    },
    wake,
    async idle() {
      for (;;) {
        await pumping;
        await Promise.all(inFlight.values());
        if (!pumping && inFlight.size === 0) {
          const due = await outbox.nextDueAt();
          if (due === null || due > now()) return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

/** A "send a test" row has no alert: what its message says. */
function testFacts(row: Notification): AlertFacts {
  return { id: row.alertId, rule: 'test', severity: 0, estate: '', device: '', openedAt: row.queuedAt, state: 'open', level: 0 };
}

/** A channel that ignores its signal must not hold the row: the abort ends the wait either way. */
function untilAborted(p: Promise<SendOutcome>, signal: AbortSignal): Promise<SendOutcome> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new ChannelError('RB_ERR_NOTIFY_TIMEOUT', 'no answer from the provider in time'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function asChannelError(err: unknown, signal: AbortSignal): ChannelError {
  if (err instanceof ChannelError) return err;
  if (signal.aborted) return new ChannelError('RB_ERR_NOTIFY_TIMEOUT', 'no answer from the provider in time');
  // A plugin's bug or an unexpected rejection: retried, its message kept short (it never carries a secret by contract).
  return new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', `send failed: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}`);
}
