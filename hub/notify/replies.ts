import type { Logger } from 'pino';
import type { Users } from '../people/users.js';
import type { Registry } from '../registry.js';
import { AckRefused, type AckOutcome, type RemoteAck } from './acknowledge.js';
import type { AckMetrics } from './ack-metrics.js';
import type { InboundReply } from './channel.js';
import { maskPhoneForLog } from './phone.js';
import type { ContactBook } from './types.js';

/**
 * SMS replies that acknowledge (issue 17, item 4): a reply with the reply code ("1"; full-width
 * "１" and spaces around it count the same) from a number in the contact book acknowledges that
 * person's newest open alert they were notified about (acknowledge.ts, `newestNotifiedOpen`), as
 * them, audited with channel `sms` and the channel it came through. Anything else is refused with a
 * logged reason (the number masked, the text never logged) and counted; `handle` never throws.
 */
export type ReplyRefusal = 'unknown-number' | 'unknown-text' | 'nothing-to-ack' | 'unknown-user' | 'out-of-scope' | 'unknown-alert' | 'failed';

export type ReplyOutcome = { ok: true; userId: string; alertId: string; result: AckOutcome['result'] } | { ok: false; reason: ReplyRefusal; userId?: string };

export interface Replies {
  handle(reply: InboundReply): Promise<ReplyOutcome>;
}

export interface RepliesDeps {
  contacts: Pick<ContactBook, 'userByPhone'>;
  remote: RemoteAck;
  /** The person's newest open notified alert among `estates` (acknowledge.ts newestNotifiedOpen, bound to the hub database). */
  newestNotified: (userId: string, estates: readonly string[]) => Promise<string | undefined>;
  users: Pick<Users, 'fetch'>;
  registry: Pick<Registry, 'estatesInScope'>;
  /** notify.replyCode (default "1"). */
  replyCode?: string;
  metrics?: Pick<AckMetrics, 'replyRefused' | 'remoteAcks'>;
  log: Logger;
}

/** Full-width digits and letters become ASCII (NFKC), spaces go, case is ignored. */
export const normaliseReply = (text: string): string => text.normalize('NFKC').replace(/\s+/g, '').toLowerCase();

export function createReplies(deps: RepliesDeps): Replies {
  const code = normaliseReply(deps.replyCode ?? '1');
  const refuse = (reply: InboundReply, reason: ReplyRefusal, userId?: string): ReplyOutcome => {
    deps.metrics?.replyRefused.inc({ reason });
    deps.log.info({ channel: reply.channelId, from: maskPhoneForLog(reply.from), reason, ...(userId ? { user: userId } : {}) }, 'SMS reply refused');
    return { ok: false, reason, ...(userId ? { userId } : {}) };
  };
  return {
    async handle(reply) {
      try {
        const userId = deps.contacts.userByPhone(reply.from);
        if (!userId) return refuse(reply, 'unknown-number');
        if (normaliseReply(reply.text) !== code) return refuse(reply, 'unknown-text', userId);
        const user = await deps.users.fetch(userId);
        if (!user || user.disabled) return refuse(reply, 'unknown-user', userId);
        const alertId = await deps.newestNotified(userId, deps.registry.estatesInScope(user.scopes));
        if (!alertId) return refuse(reply, 'nothing-to-ack', userId);
        const out = await deps.remote.acknowledge(alertId, userId, 'sms', reply.channelId);
        deps.metrics?.remoteAcks.inc({ via: 'sms', result: out.result });
        deps.log.info({ channel: reply.channelId, from: maskPhoneForLog(reply.from), user: userId, alert: alertId, result: out.result }, 'SMS reply acknowledged');
        return { ok: true, userId, alertId, result: out.result };
      } catch (err) {
        if (err instanceof AckRefused) return refuse(reply, err.reason);
        deps.log.error({ err, channel: reply.channelId, from: maskPhoneForLog(reply.from) }, 'SMS reply failed');
        return refuse(reply, 'failed');
      }
    },
  };
}
