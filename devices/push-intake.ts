import type { Logger } from 'pino';
import type { DeviceHealth, DraftEvent, PushRequest, PushResponse } from './types.js';

/**
 * What every push-style driver (the device posts to the gateway: ISAPI, ANPR, ZKTeco ADMS) does
 * around its own decoding: the `allowFrom` source check, refusals counted by reason and logged
 * without the body, handing drafts to the gateway with a non-200 when it cannot queue them (the
 * device keeps the data and posts it again), and online = heard from within `offlineAfterMs`.
 */
export type IntakeReject = 'forbidden-source' | 'emit-failed';

export interface PushIntakeOptions<R extends string> {
  /** Every reason the driver refuses with, in the order its stats list them. */
  reasons: readonly R[];
  allowFrom?: readonly string[] | undefined;
  offlineAfterMs: number;
  log: Logger;
  /** Start of the refusal log line, e.g. "isapi push" → "isapi push rejected: too-large". */
  label: string;
  emit(event: DraftEvent): Promise<void>;
}

export interface PushIntake<R extends string> {
  /** 403 when the request's source is not in `allowFrom`; undefined when it may go on. */
  checkSource(req: PushRequest): PushResponse | undefined;
  /** Count, log and answer a refusal. */
  refuse(status: number, reason: R | IntakeReject, detail: string, req: PushRequest): PushResponse;
  /** Hand drafts to the gateway in order; a 503 refusal when it could not queue one, else undefined. */
  emit(drafts: readonly DraftEvent[], req: PushRequest): Promise<PushResponse | undefined>;
  /** The device showed a sign of life. */
  seen(): void;
  lastSeen(): number | undefined;
  health(): DeviceHealth;
  /** Refusals so far, by reason (a copy). */
  rejected(): Record<R | IntakeReject, number>;
}

/** IPv4-mapped IPv6 (`::ffff:10.0.0.5`) is how Node reports IPv4 peers on a dual-stack socket. */
export const normaliseIp = (ip: string | undefined): string => (ip ?? '').toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');

export function createPushIntake<R extends string>(o: PushIntakeOptions<R>): PushIntake<R> {
  const allow = o.allowFrom ? new Set(o.allowFrom.map(normaliseIp)) : undefined;
  const reasons: ReadonlyArray<R | IntakeReject> = [...new Set([...o.reasons, 'forbidden-source', 'emit-failed'] as const)];
  const rejected = Object.fromEntries(reasons.map((r) => [r, 0])) as Record<R | IntakeReject, number>;
  let lastSeen: number | undefined;

  function refuse(status: number, reason: R | IntakeReject, detail: string, req: PushRequest): PushResponse {
    rejected[reason] += 1;
    o.log.warn({ reason, detail, status, remote: req.remoteAddress, bytes: req.body.length }, `${o.label} rejected: ${reason}`);
    return { status, contentType: 'text/plain; charset=utf-8', body: `${reason}: ${detail}\n` };
  }

  return {
    checkSource: (req) =>
      allow && !allow.has(normaliseIp(req.remoteAddress)) ? refuse(403, 'forbidden-source', 'source address not in allowFrom', req) : undefined,
    refuse,
    async emit(drafts, req) {
      for (const draft of drafts) {
        try {
          await o.emit(draft);
        } catch (err) {
          // Not a 200 / "OK": the device keeps what it sent and posts it again (dedupKey makes that harmless).
          o.log.warn({ err, type: draft.type }, 'gateway did not accept the event');
          return refuse(503, 'emit-failed', 'gateway could not queue the event', req);
        }
      }
      return undefined;
    },
    seen: () => void (lastSeen = Date.now()),
    lastSeen: () => lastSeen,
    health: () => ({ online: lastSeen !== undefined && Date.now() - lastSeen <= o.offlineAfterMs, lastSeen }),
    rejected: () => ({ ...rejected }),
  };
}
