import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { AlertService, NameOf } from '../alerts/service.js';
import { alertView } from '../alerts/service.js';
import type { AlertStore } from '../alerts/store.js';
import type { ChannelSummary, SendTest } from '../api/contacts.js';
import type { InboundLookup } from '../api/notify-inbound.js';
import type { Audit } from '../audit.js';
import type { Bus } from '../bus.js';
import type { Commands } from '../commands/index.js';
import type { HubConfig } from '../config.js';
import { createDutySync, type DutySync } from '../edge/duty-sync.js';
import type { People } from '../people/index.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { Registry } from '../registry.js';
import { buildChannels, inboundOf } from './build.js';
import type { Channel, ChannelPlugin } from './channel.js';
import { CHANNEL_PLUGINS } from './channels/index.js';
import { NotifyLinksConfig } from './config-links.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import { createNotifyMetrics } from './metrics.js';
import { createNotifier, type Notifier } from './notifier.js';
import { ORDER_PREFIX, orderFacts } from './order-notice.js';
import type { WorkOrders } from '../orders/types.js';
import type { AckLinks, ContactBook } from './types.js';
import { createPushSubscriptions, vapidKeys, type PushSubscriptions, type VapidKeys } from './webpush-store.js';
import { wireContacts, type ContactsWiring } from './wire-contacts.js';
import { service, type Service } from '../../lib/service.js';

/**
 * The hub's off-screen notification, built in two steps around the alert service (docs/notifications.md):
 * the outbox's queueing side first (the alert service queues in its own transactions through it),
 * then the contact book, ack links, replies, the dispatcher and the duty sync, which acknowledge and
 * escalate through the alert service. The composition root (hub/main.ts) starts them as services.
 */

/**
 * Notification parts tests replace (issue 17). Defaults: the channels of `notify.channels` built by
 * the shipped plugins, the contact book and ack links of hub/notify/wire-contacts.ts, "send a test"
 * through the outbox, and the configured channels' callbacks.
 */
export interface NotifyOverrides {
  /** Overrides of the `notify` config keys the ack links and replies read. */
  links?: Partial<NotifyLinksConfig>;
  channels?: () => readonly ChannelSummary[];
  sendTest?: SendTest;
  inbound?: InboundLookup;
  /** Channel plugins `notify.channels` may name (default hub/notify/channels/index.ts; tests add their own). */
  channelPlugins?: readonly ChannelPlugin[];
  /** Who can be reached how, instead of the contact book. */
  contactBook?: ContactBook;
  /** One-tap ack links in messages, instead of the hub's own. */
  ackLinks?: AckLinks;
}

export interface NotifyBefore {
  readonly config: HubConfig;
  readonly overrides: NotifyOverrides | undefined;
  readonly db: HubDatabase;
  readonly log: Logger;
  readonly plugins: readonly ChannelPlugin[];
  readonly channels: ReadonlyMap<string, Channel>;
  readonly notifier: Notifier;
  /** Web Push: the phone view's subscriptions, and the VAPID key pair browsers subscribe with. */
  readonly pushSubscriptions: PushSubscriptions;
  readonly webpushKeys: () => Promise<VapidKeys>;
  /** Set by notifyAfterAlerts: the contact book the notifier reads through. */
  contacts?: ContactsWiring;
}

export function notifyBeforeAlerts(d: { config: HubConfig; overrides: NotifyOverrides | undefined; db: HubDatabase; log: Logger; nameOf: NameOf; alertStore: AlertStore }): NotifyBefore {
  const { config, overrides, db } = d;
  const log = d.log.child({ module: 'hub.notify' });
  // Web Push: the key pair of the configured webpush channel, its own when its config names one,
  // else made once and kept in the hub database.
  const pushSubscriptions = createPushSubscriptions({ db });
  const webpushConfig = config.notify.channels.find((c) => c.type === 'webpush') as Partial<VapidKeys> | undefined;
  let vapid: Promise<VapidKeys> | undefined;
  const webpushKeys = (): Promise<VapidKeys> =>
    (vapid ??= vapidKeys(db, webpushConfig).catch((err: unknown) => {
      vapid = undefined;
      throw err;
    }));
  const plugins = overrides?.channelPlugins ?? CHANNEL_PLUGINS;
  const channels = buildChannels(config.notify.channels, plugins, log, { db, pushSubscriptions });
  // The contact book exists only after the alert service (it acknowledges through it): read through `out`.
  const bookOf = (): ContactBook => {
    const book = overrides?.contactBook ?? out.contacts?.contacts;
    if (!book) throw new Error('the contact book is read before notifyAfterAlerts()');
    return book;
  };
  const book: ContactBook = {
    routesFor: (userId, severity, at) => bookOf().routesFor(userId, severity, at),
    groupRoutes: (estate, severity) => bookOf().groupRoutes(estate, severity),
    userByPhone: (phone) => bookOf().userByPhone(phone),
  };
  const notifier = createNotifier({
    db,
    contactBook: book,
    channelType: (id) => channels.get(id)?.type,
    maxPerAlert: config.notify.maxPerAlert,
    voiceLevels: config.notify.voiceLevels,
    nameOf: (id) => d.nameOf(`user:${id}`),
    alertFacts: (id) => d.alertStore.get(id),
    log,
  });
  const out: NotifyBefore = { config, overrides, db, log, plugins, channels, notifier, pushSubscriptions, webpushKeys };
  return out;
}

export interface NotifyAfter {
  contacts: ContactsWiring;
  dispatcher: Dispatcher;
  dutySync: DutySync;
  /**
   * The dispatcher and the replies a channel reads by itself (the GSM modem's inbox, acknowledging like
   * provider callbacks do) as one service; at stop the channels are closed last.
   */
  service: Service;
}

export function notifyAfterAlerts(
  before: NotifyBefore,
  d: { people: People; registry: Registry; audit: Audit; alerts: AlertService; alertStore: AlertStore; nameOf: NameOf; commands: Commands; bus: Bus; metrics: MetricsRegistry; orders?: Pick<WorkOrders, 'get'> },
): NotifyAfter {
  const { config, overrides, db, log, channels, notifier, pushSubscriptions } = before;
  const summaries = overrides?.channels ?? (() => [...channels.values()].map((c) => ({ id: c.id, type: c.type, accepts: c.accepts })));
  const contacts = wireContacts({
    db,
    dataDir: config.dataDir,
    timeZone: config.timeZone,
    people: d.people,
    registry: d.registry,
    audit: d.audit,
    alerts: d.alerts,
    alertStore: d.alertStore,
    nameOf: d.nameOf,
    metrics: d.metrics,
    log,
    links: NotifyLinksConfig.parse({ publicUrl: config.notify.publicUrl, ackLinkTtl: config.notify.ackLinkTtl, replyCode: config.notify.replyCode, ackRateLimit: config.notify.ackRateLimit, ...overrides?.links }),
    channels: summaries,
    sendTest: overrides?.sendTest ?? ((route, user, ctx) => notifier.sendTest(route, user?.id ?? null, ctx.actor)),
    inbound: overrides?.inbound ?? inboundOf(config.notify.channels, before.plugins),
    // Web Push subscriptions (their own table), through the configured webpush channel.
    sources: [pushSubscriptions.source(() => summaries().find((c) => c.type === 'webpush')?.id)],
  });
  before.contacts = contacts;
  const dispatcher = createDispatcher({
    outbox: notifier.outbox,
    notifier,
    channels,
    alert: async (id) => {
      // Work orders past their deadline (hub/notify/order-notice.ts) share the outbox.
      if (id.startsWith(ORDER_PREFIX)) return d.orders ? orderFacts(d.orders, id) : undefined;
      const a = await d.alertStore.get(id);
      return a && alertView(a, d.nameOf);
    },
    ackLinks: overrides?.ackLinks ?? contacts.ackLinksForOutbox,
    escalateNow: (id, reason, fromLevel) => d.alerts.escalateNow(id, reason, fromLevel),
    config: config.notify,
    timeZone: config.timeZone,
    metrics: createNotifyMetrics(d.metrics, () => notifier.outbox.depth()),
    log,
  });
  notifier.onQueued(() => dispatcher.wake());
  // The edge's own warnings: each gateway with a modem gets its estate's duty list (hub/edge/duty-sync.ts).
  const dutySync = createDutySync({
    roster: d.people.roster,
    contactOf: (userId) => {
      const phone = contacts.contacts.list(userId).find((c) => c.kind === 'phone');
      return phone && { phone: phone.address, lang: contacts.contacts.policy(userId).lang };
    },
    commands: d.commands,
    gateways: (estate) => d.registry.listGateways().filter((g) => g.estate === estate && g.revokedAt === null).map((g) => g.gateway),
    estateName: (estate) => d.registry.getEstate(estate)?.name ?? undefined,
    onStatus: (listener) => d.bus.on('gateway.status', listener),
    estates: () => d.registry.listEstates().map((e) => e.id),
    log: log.child({ module: 'hub.duty-sync' }),
  });
  const offReplies: Array<() => void> = [];
  return {
    contacts,
    dispatcher,
    dutySync,
    service: service(
      'notify',
      async () => {
        await dispatcher.start();
        for (const c of channels.values()) if (c.onReply) offReplies.push(c.onReply((reply) => contacts.replies.handle(reply).then(() => undefined)));
      },
      async () => {
        for (const off of offReplies.splice(0)) off();
        await dispatcher.stop();
        for (const c of channels.values()) await c.close?.().catch((err: unknown) => log.warn({ err, channel: c.id }, 'channel close failed'));
      },
    ),
  };
}
