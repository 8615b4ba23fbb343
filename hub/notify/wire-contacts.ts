import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Registry as PromRegistry } from 'prom-client';
import type { NameOf, AlertService } from '../alerts/service.js';
import type { AlertStore } from '../alerts/store.js';
import { ackRoutes } from '../api/ack.js';
import { contactRoutes, type ChannelSummary, type SendTest } from '../api/contacts.js';
import { notifyInboundRoutes, type InboundLookup } from '../api/notify-inbound.js';
import type { Audit } from '../audit.js';
import type { People } from '../people/index.js';
import { loadSigningKey } from '../people/signing-key.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { Registry } from '../registry.js';
import { createAckLinks, type AckLinkService } from './ack-links.js';
import { ackMetrics } from './ack-metrics.js';
import { createRemoteAck, newestNotifiedOpen, type RemoteAck } from './acknowledge.js';
import type { NotifyLinksConfig } from './config-links.js';
import { createContactBook, type ContactStore, type RouteSource } from './contacts.js';
import { createReplies, type Replies } from './replies.js';
import type { AckLinks } from './types.js';

export interface ContactsWiringDeps {
  db: HubDatabase;
  dataDir: string;
  timeZone: string;
  people: People;
  registry: Registry;
  audit: Audit;
  alerts: Pick<AlertService, 'acknowledge'>;
  alertStore: Pick<AlertStore, 'get'>;
  nameOf?: NameOf;
  metrics: PromRegistry;
  log: Logger;
  /** notify.publicUrl, notify.ackLinkTtl, notify.replyCode, notify.ackRateLimit (config-links.ts). */
  links: NotifyLinksConfig;
  /** The configured channel instances (id, plugin type, address kinds). */
  channels: () => readonly ChannelSummary[];
  /** The outbox's "send a test". */
  sendTest: SendTest;
  /** The configured channels' callback parsers (plugin `inbound` bound to the instance's config). */
  inbound: InboundLookup;
  /** Routes kept elsewhere (Web Push subscriptions), joined after a person's own contact points. */
  sources?: readonly RouteSource[];
}

export interface ContactsWiring {
  /** The ContactBook of hub/notify/types.ts (and its management). */
  contacts: ContactStore;
  /** The AckLinks of hub/notify/types.ts plus verify; `url()` refuses while notify.publicUrl is unset. */
  ackLinks: AckLinkService;
  /** AckLinks for the outbox, or undefined when notify.publicUrl is unset (messages then carry no link). */
  ackLinksForOutbox: AckLinks | undefined;
  /** Acknowledge as a person from outside the app (also for the Web Push 确认 action: via 'push'). */
  remote: RemoteAck;
  /** SMS replies from any channel (the gammu inbox watcher calls `replies.handle`). */
  replies: Replies;
  /** Mount with createApi's `routes`: contacts and robots REST, /a/:token, /api/v1/notify/inbound/:channelId. */
  routes: Router[];
  /** After the people service started (the database migrated). */
  start(): Promise<void>;
  close(): void;
}

/** Contact book, ack links and SMS replies, wired (issue 17 items 1 and 4). */
export function wireContacts(deps: ContactsWiringDeps): ContactsWiring {
  const log = deps.log;
  const contacts = createContactBook({
    db: deps.db,
    timeZone: deps.timeZone,
    users: deps.people.users,
    registry: deps.registry,
    channels: deps.channels,
    sources: deps.sources,
    log,
  });
  const ackLinks = createAckLinks({ key: () => loadSigningKey(deps.db, { legacyDir: deps.dataDir, log }), publicUrl: deps.links.publicUrl ?? 'http://notify.publicUrl.unset', ttl: deps.links.ackLinkTtl });
  const guarded: AckLinkService = {
    ...ackLinks,
    async url(alertId, userId, channelId) {
      if (!deps.links.publicUrl) throw new Error('notify.publicUrl is not set: messages carry no acknowledge link');
      return ackLinks.url(alertId, userId, channelId);
    },
  };
  const metrics = ackMetrics(deps.metrics);
  const remote = createRemoteAck({ alerts: deps.alerts, store: deps.alertStore, users: deps.people.users, registry: deps.registry });
  const replies = createReplies({
    contacts,
    remote,
    newestNotified: (userId, estates) => newestNotifiedOpen(deps.db, userId, estates),
    users: deps.people.users,
    registry: deps.registry,
    replyCode: deps.links.replyCode,
    metrics,
    log,
  });
  const routes = [
    contactRoutes({ people: deps.people, audit: deps.audit, contacts, registry: deps.registry, channels: deps.channels, sendTest: deps.sendTest }),
    ackRoutes({ links: ackLinks, remote, metrics, timeZone: deps.timeZone, nameOf: deps.nameOf, perMinute: deps.links.ackRateLimit, log }),
    notifyInboundRoutes({ inbound: deps.inbound, replies, metrics, log }),
  ];
  return {
    contacts,
    ackLinks: guarded,
    ackLinksForOutbox: deps.links.publicUrl ? guarded : undefined,
    remote,
    replies,
    routes,
    start: () => contacts.start(),
    close: () => contacts.close(),
  };
}
