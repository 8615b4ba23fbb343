import type { AlertService } from '../alerts/service.js';
import type { AlertStore } from '../alerts/store.js';
import type { Alert } from '../alerts/types.js';
import type { Users } from '../people/users.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { Registry } from '../registry.js';

/**
 * Acknowledging an alert from where the person is (issue 17, item 4): a one-tap link, an SMS reply,
 * a push notification's 确认. Each goes through the alert service's own acknowledge (one outbox
 * transaction with its push messages), and its audit entry names the person and the channel.
 */
export type AckVia = 'link' | 'sms' | 'push';

/** Why an acknowledge from outside the app was refused: a metric label and a log field. */
export type AckRefusal = 'unknown-alert' | 'unknown-user' | 'out-of-scope';

export class AckRefused extends Error {
  constructor(
    readonly reason: AckRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'AckRefused';
  }
}

export interface AckOutcome {
  alert: Alert;
  /** acknowledged: now, by this person; already: it was acknowledged before (by anyone); resolved: nothing left to acknowledge. */
  result: 'acknowledged' | 'already' | 'resolved';
}

export interface RemoteAckDeps {
  alerts: Pick<AlertService, 'acknowledge'>;
  store: Pick<AlertStore, 'get'>;
  users: Pick<Users, 'fetch'>;
  registry: Pick<Registry, 'estatesInScope'>;
}

export interface RemoteAck {
  /** The alert as far as the person may see it: refused (AckRefused) when unknown, the person disabled, or the estate no longer theirs. */
  check(alertId: string, userId: string): Promise<Alert>;
  /** check(), then acknowledge as `user:<id>`, audited `alert.ack` with `{changed, channel: via, channelId}`. */
  acknowledge(alertId: string, userId: string, via: AckVia, channelId: string): Promise<AckOutcome>;
}

export function createRemoteAck(deps: RemoteAckDeps): RemoteAck {
  async function check(alertId: string, userId: string): Promise<Alert> {
    const alert = await deps.store.get(alertId);
    if (!alert) throw new AckRefused('unknown-alert', 'no such alert');
    // Read now, not from the copy: a person disabled or moved a moment ago by the CLI is refused.
    const user = await deps.users.fetch(userId);
    if (!user || user.disabled) throw new AckRefused('unknown-user', 'the person is unknown or disabled');
    if (!deps.registry.estatesInScope(user.scopes).includes(alert.estate)) throw new AckRefused('out-of-scope', 'the estate is no longer in the person’s scope');
    return alert;
  }
  return {
    check,
    async acknowledge(alertId, userId, via, channelId) {
      const alert = await check(alertId, userId);
      if (alert.state === 'resolved') return { alert, result: 'resolved' };
      if (alert.state === 'acknowledged') return { alert, result: 'already' };
      const actor = `user:${userId}`;
      try {
        const change = await deps.alerts.acknowledge(alert.id, actor, undefined, (c) => ({
          actor,
          action: 'alert.ack',
          estate: alert.estate,
          target: `alert:${alert.id}`,
          detail: { changed: c.changed, channel: via, channelId },
        }));
        return { alert: change.alert, result: change.changed ? 'acknowledged' : 'already' };
      } catch (err) {
        // Resolved between the read and the acknowledge.
        if ((err as { code?: string }).code === 'RB_ERR_ALERT_STATE') return { alert: (await deps.store.get(alert.id)) ?? alert, result: 'resolved' };
        throw err;
      }
    },
  };
}

/**
 * The person's newest unacknowledged alert they were told about: from the alert store's notified
 * timeline (`alert_activity`, kind `notified`, actor `user:<id>`, written by the escalation in the
 * same transaction as the notifications), among open and escalated alerts of the estates given.
 * The outbox's rows are not used: an alert the person was notified of only on the open page counts
 * too, and the timeline exists on every hub, with or without channels.
 */
export async function newestNotifiedOpen(hubDb: HubDatabase, userId: string, estates: readonly string[]): Promise<string | undefined> {
  if (estates.length === 0) return undefined;
  const row = await hubDb.db
    .selectFrom('alerts as a')
    .innerJoin('alert_activity as n', 'n.alert', 'a.id')
    .select(['a.id'])
    .where('a.state', 'in', ['open', 'escalated'])
    .where('a.estate', 'in', [...estates])
    .where('n.kind', '=', 'notified')
    .where('n.actor', '=', `user:${userId}`)
    .orderBy('n.at', 'desc')
    .orderBy('n.id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.id;
}
