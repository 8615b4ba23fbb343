import { createServer, type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Hub, HubDeps } from './hub-types.js';
import { createApi } from './api/app.js';
import { createBroker, type Broker } from './broker/broker.js';
import { brokerLimits } from './broker/options.js';
import { createBus } from './bus.js';
import { createIngest } from './ingest/ingest.js';
import { createDeadLetters } from './ingest/dead-letter.js';
import { startRegistrySync } from './registry-sync.js';
import { openSnapshotStore } from './snapshots.js';
import { createCommands, createCommandStore } from './commands/index.js';
import { createMetrics } from './metrics.js';
import { createPush } from './push/push.js';
import { createStateService } from './state/index.js';
import { createRegistry } from './registry.js';
import { wireEventStore } from './store/wire.js';
import { createAudit } from './audit.js';
import { createDatabase, importLegacyAlerts, importLegacyAudit, importLegacyEvents, importLegacyPeople, importLegacyRegistry } from './platform/db/index.js';
import { createEventLog, createLogFeed, startLogRetention } from './eventlog/index.js';
import { createPeople } from './people/index.js';
import { subscribeFacts } from './store/facts.js';
import { createAlertStore } from './alerts/store.js';
import { alertSettingsSync } from './alerts/settings-sync.js';
import { createAlertService, alertView } from './alerts/service.js';
import { createRuleCheckpoints } from './alerts/checkpoint.js';
import { maskLiveData } from './alerts/privacy.js';
import { createNameOf } from './alerts/names.js';
import { trackConnections } from './broker/connections.js';
import { createRunner, service } from '../lib/service.js';
import { alertRoutes } from './api/alerts.js';
import { webpushRoutes } from './api/webpush.js';
import { createPushLog } from './push/log.js';
import { httpWithPush } from './push/http-service.js';
import { notifyAfterAlerts, notifyBeforeAlerts } from './notify/wire.js';
import { queueOrderNotice } from './notify/order-notice.js';
import { exportRoutes } from './orders/export.js';
import { parseDuration } from './people/tokens.js';
import { createReadiness } from './platform/readiness.js';
import { partitionOf } from './cluster/partition.js';
import { wireBrokerCluster, wireOwnership } from './cluster/wire.js';
import { VERSION } from '../lib/version.js';
import { createAutoClose, createWorkOrders, orderRoutes } from './orders/index.js';
import { DEFAULT_PHOTO_LIMITS } from './orders/images.js';
import { deadlineForConfig, wireOrderTiers } from './orders/deadlines-wire.js';
import { createPatrol } from './patrol/service.js';
import { patrolRoutes } from './patrol/api.js';
import { patrolOptions } from './patrol/config.js';
import { wireOrderFigures } from './orders/figures-wire.js';
import { residentWiring } from './residents/wire.js';
import { createVideo } from './video/index.js';

/**
 * Composition root of the hub: the one place that builds its services. Data flows one way:
 * broker -> ingest -> bus -> push / api. Services start in order and stop in reverse.
 */
export function createHub(deps: HubDeps): Hub {
  const { config, log } = deps;
  mkdirSync(config.dataDir, { recursive: true });
  const startedAt = Date.now();
  const metrics = createMetrics();
  // The hub database (hub/platform/db): migrated at start(). Registry, people, audit, dead letters,
  // alerts, the push log, the event log, events (no InfluxDB) and snapshot links live there (docs/storage.md, "Hub database").
  const hubDb = createDatabase({ url: config.db.url, file: join(config.dataDir, 'hub.db'), log, checkpointInWorker: true });
  // The event log (hub/eventlog): ingest appends, consumers resume from their cursors. Producers
  // and live-only listeners use `bus` (its logged messages go through the log); consumers their own view.
  const eventLog = createEventLog({
    db: hubDb,
    retention: { maxRows: config.dedupWindow, maxAgeMs: config.eventLog.maxAgeDays * 86_400_000, hardCapRows: Math.max(config.eventLog.hardCapRows, config.dedupWindow) },
    log: log.child({ module: 'hub.eventlog' }),
  });
  // Who owns which estates' work (hub/cluster/wire.ts): partition leases on PostgreSQL; the embedded hub owns everything.
  const { leases, ownership, feedCluster } = wireOwnership({ config, hubDb, metrics, log });
  const feed = createLogFeed({ log: eventLog, db: hubDb, bus: createBus(log.child({ module: 'hub.bus' })), logger: log.child({ module: 'hub.eventlog' }), ...feedCluster });
  const bus = feed.bus;
  const registry = createRegistry({ db: hubDb, log: log.child({ module: 'hub.registry' }) });
  const people = createPeople({ db: hubDb, dataDir: config.dataDir, registry, tokenTtl: config.auth.tokenTtl, refreshTtl: config.auth.refreshTtl, timeZone: config.timeZone, apiToken: config.auth.apiToken, log: log.child({ module: 'hub.people' }) });
  const audit = createAudit({ db: hubDb, log: log.child({ module: 'hub.audit' }) });
  // The event store with its metrics; InfluxDB fed from the log by its sink (hub/store/wire.ts).
  const { store, influxSink, facts } = wireEventStore({ config, log, hubDb, feed, metrics, store: deps.store });
  const snapshots = openSnapshotStore({ dataDir: config.dataDir, db: hubDb, feed, maxBytes: config.maxSnapshotBytes });
  const deadLetters = createDeadLetters({ db: hubDb, log: log.child({ module: 'hub.dead-letters' }) });
  const ingest = createIngest({
    store,
    feed,
    metrics,
    log: log.child({ module: 'hub.ingest' }),
    maxPayloadBytes: config.maxPayloadBytes,
    maxResultBytes: config.maxResultBytes,
    deadLetters,
    ...(influxSink ? { refusing: () => influxSink.refusing() } : {}),
  });
  // The broker's Redis link and the wills of a dead node's gateways (hub/cluster/wire.ts); "heard" from the live state.
  const { orphanWills, brokerCluster } = wireBrokerCluster({ config, ingest, lastHeard: (estate, gateway) => state.live.estates.get(estate)?.gateways.get(gateway)?.lastSeen, log });
  const broker: Broker = createBroker({
    host: config.mqtt.host,
    port: config.mqtt.port,
    registry,
    ingest,
    bus,
    metrics,
    log: log.child({ module: 'hub.broker' }),
    limits: brokerLimits(config),
    ...brokerCluster,
  });
  const state = createStateService({ bus: feed.consumer('state', { everyPartition: true }), store, options: { ...config.state, timeZone: config.timeZone }, log: log.child({ module: 'hub.state' }) });
  const unsubscribeFacts = subscribeFacts({ bus: feed.consumer('facts'), facts, store, estates: () => registry.listEstates(), streets: () => registry.listStreets() });
  const alertStore = createAlertStore({ db: hubDb });
  const pushLog = createPushLog(hubDb, log.child({ module: 'hub.push-log' }), {
    retentionMs: parseDuration(config.push.retention),
    maxRows: config.push.maxRows,
    flushMs: config.push.flushMs,
    // The push consumer's cursor commits with the push-log rows made from its entries.
    saveSourceCursor: (trx, sources) => feed.commitSinkCursor(trx, 'push', sources),
    sources: { committed: (s) => feed.sinkCommitted('push', s), failed: (s) => feed.sinkFailed('push', s), keep: (s) => feed.sinkWants('push', s) },
  });
  // The HTTP server first, without its handler: push (Socket.IO) attaches to it, the alert service
  // pushes through push, and the API (the request handler) serves the alert service.
  const http: Server = createServer();
  const push = createPush({
    http,
    bus: feed.consumer('push', { cursorInSink: true }),
    metrics,
    log: log.child({ module: 'hub.push' }),
    pushLog,
    maxReplay: config.push.replayLimit,
    // A cluster: Socket.IO over Redis, so an envelope committed on any node reaches every node's sockets.
    redisUrl: config.cluster.redisUrl,
    verify: async (token) => {
      const p = await people.verifySocketToken(token);
      return { id: p.id, role: p.role, estates: p.allEstates ? 'all' : p.estates, ...(p.expiresAt ? { exp: p.expiresAt } : {}) };
    },
    mask: maskLiveData,
    // Every node keeps every estate's live state; only the owner pushes its changes (once).
    owns: (estate) => ownership.owns(partitionOf(estate)),
    onFullView: (p, estates) => audit.recordInBackground({ actor: p.id === 'system' ? 'system' : `user:${p.id}`, action: 'view.personal.live', target: 'push', detail: { estates } }),
  });
  const commands = createCommands({
    broker,
    bus: feed.consumer('commands'),
    store: createCommandStore(hubDb),
    push,
    audit,
    log: log.child({ module: 'hub.commands' }),
    // In a cluster the answer may be settled by another node: whoever waits here re-reads the rows.
    ...(config.cluster.redisUrl ? { pollMs: 250 } : {}),
  });
  // Patrol rounds: the schedule and the deadlines of the estates this node owns; a missed checkpoint
  // is a hub event appended to the log (the alert rules raise patrol.missed from it).
  const patrol = createPatrol({ db: hubDb, feed, events: store, ownership, options: patrolOptions(config.timeZone, config.patrol), log: log.child({ module: 'hub.patrol' }), ...(deps.patrol?.now ? { now: deps.patrol.now } : {}) });
  // Names instead of ids in alert views (people, devices as their gateways named them, estates).
  const nameOf = createNameOf({ bus, users: people.users, registry, hubDevice: patrol.checkpointName });
  // Off-screen notification (hub/notify/wire.ts, docs/notifications.md): the outbox's queueing side
  // first (the alert service queues through it), the rest once the alert service exists.
  const notify = notifyBeforeAlerts({ config, overrides: deps.notify, db: hubDb, log, nameOf, alertStore });
  // Cluster: the rules' memory goes with the alerts cursor to whichever node owns the estate next.
  const ruleCheckpoints = ownership.clustered ? createRuleCheckpoints({ db: hubDb, log: log.child({ module: 'hub.alerts' }) }) : undefined;
  const alerts = createAlertService({ bus: feed.consumer('alerts', ruleCheckpoints ? { checkpoint: ruleCheckpoints } : {}), store: alertStore, ...(ruleCheckpoints ? { checkpoint: ruleCheckpoints } : {}), push, audit, roster: people.roster, facts, nameOf, notify: notify.notifier, estates: () => registry.listEstates().map((e) => e.id), ownership, log: log.child({ module: 'hub.alerts' }) });
  // Cluster hand-overs: the alert rules take up or let go of their estates; then push writes what it
  // queued for them (its cursor commits with it) before the lease goes.
  feed.onPartitions({ acquired: (parts) => alerts.acquired(parts), dropped: (parts, why) => alerts.dropped(parts, why) });
  feed.onPartitions({ dropped: () => pushLog.flush() });
  if (influxSink) feed.onPartitions({ dropped: () => influxSink.flush() });
  const connections = trackConnections(bus);
  // Work orders (hub/orders): any node writes them; each change commits with its audit entry and push.
  const orders = createWorkOrders({ db: hubDb, audit, push, nameOf, timeZone: config.timeZone, log: log.child({ module: 'hub.orders' }), deadlineFor: deadlineForConfig(config), ...(deps.ordersNow ? { now: deps.ordersNow } : {}) });
  const { contacts, dispatcher, dutySync, service: notifyService } = notifyAfterAlerts(notify, { people, registry, audit, alerts, alertStore, nameOf, commands, bus, metrics: metrics.registry, orders });
  const { channels, notifier, pushSubscriptions, webpushKeys } = notify;
  // Deadlines (the sweep), whistles and 12345 import around the service; the routes read orders with their
  // whistles. A tier an order moved up to is told on its people's routes too (the notification outbox).
  // Queued at the wall clock: the outbox sends what is due now (the orders' clock may be a test's).
  const notifyTier = (r: Parameters<typeof queueOrderNotice>[2]) => queueOrderNotice(hubDb, notifier, { ...r, at: Date.now() });
  const orderTiers = wireOrderTiers({ config, db: hubDb, orders, people, registry, audit, push, ownership, channels: notify.channels, metrics: metrics.registry, log, notifyTier, ...(deps.ordersNow ? { now: deps.ordersNow } : {}) });
  // Figures, order facts for Grafana, orders.retention (hub/orders/figures-wire.ts).
  const orderFigures = wireOrderFigures({ db: hubDb, orders, facts, people, registry, metrics: metrics.registry, timeZone: config.timeZone, retention: config.orders.retention, deadlineFor: deadlineForConfig(config), log: log.child({ module: 'hub.orders' }), ...(deps.ordersNow ? { now: deps.ordersNow } : {}) });
  const autoClose = createAutoClose({ db: hubDb, orders, afterMs: parseDuration(config.orders.autoCloseAfter), log: log.child({ module: 'hub.orders' }) });
  const orderLimits = { maxPhotos: config.orders.maxPhotos, photo: { ...DEFAULT_PHOTO_LIMITS, maxBytes: config.orders.maxPhotoBytes } };
  // Live video (hub/video, docs/video.md): relay links and viewers on the HTTP server's upgrades; stopped before it.
  const video = createVideo({ http, config: config.video, registry, people, state, audit, metrics: metrics.registry, log: log.child({ module: 'hub.video' }), clips: { db: hubDb, dataDir: config.dataDir, alerts: alertStore, nameOf }, cluster: { db: hubDb, nodeId: config.cluster.nodeId, ttlMs: parseDuration(config.cluster.leaseTtl) } });
  const app = createApi({
    store,
    registry,
    snapshots,
    bus,
    apiToken: config.auth.apiToken,
    loginLimit: { maxFailures: config.auth.loginMaxFailures, windowMs: parseDuration(config.auth.loginWindow) },
    deadLetters,
    state,
    maxSnapshotBytes: config.maxSnapshotBytes,
    metrics,
    log: log.child({ module: 'hub.api' }),
    startedAt,
    health: () => ({ gatewaysConnected: connections.count() }),
    trustProxy: config.http.trustProxy,
    ready: createReadiness({ db: hubDb, nodeId: config.cluster.nodeId, version: VERSION, redisUrl: config.cluster.redisUrl, ...(leases ? { partitions: () => leases.owned().size } : {}) }).check,
    people,
    audit,
    openAlerts: async (estate) => (await alertStore.openAlerts(estate)).map((a) => alertView(a, nameOf)),
    pushHandover: (estate, handover) => push.toEstate(estate, 'handover:new', handover, handover.at),
    routes: [
      // Before the routes of /work-orders/:id, which would take "figures" for an id.
      orderFigures.routes,
      webpushRoutes({ people, audit, subscriptions: pushSubscriptions, keys: webpushKeys }),
      alertRoutes({
        people,
        audit,
        alerts,
        store: alertStore,
        events: store,
        registry,
        commands,
        state,
        timeZone: config.timeZone,
        nameOf,
        notifications: (id) => notifier.views(id),
      }),
      ...contacts.routes,
      orderRoutes({ people, audit, orders: orderTiers.orders, registry, alerts: alertStore, nameOf, limits: orderLimits }),
      exportRoutes({ people, audit, orders, timeZone: config.timeZone }),
      ...orderTiers.routes,
      patrolRoutes({ patrol, people, audit, registry, publicUrl: config.notify.publicUrl }),
      // The resident's pages /r/… (no account) and the estate's QR poster (hub/residents).
      ...residentWiring({ config, registry, people, metrics: metrics.registry, orders, log: log.child({ module: 'hub.residents' }) }).routes,
      ...video.routes,
    ],
  });
  http.on('request', app);
  const upgradeLog = log.child({ module: 'hub.upgrade' });
  let offSignOut: () => void = () => undefined;
  let retention: { stop(): Promise<void> } | undefined;
  let stopSync: () => void = () => undefined;
  /**
   * Start in order, stop in reverse (lib/service.ts). The database first (migrated, files of an older
   * release imported) and closed last; the broker last, so no gateway is taken before every consumer
   * of the event log has caught up from its cursor.
   */
  const runner = createRunner(
    [
      service(
        'database',
        async () => {
          await hubDb.migrate();
          await importLegacyAudit(hubDb, config.dataDir, upgradeLog);
          await importLegacyRegistry(hubDb, config.dataDir, upgradeLog);
          await importLegacyEvents(hubDb, config.dataDir, upgradeLog, { events: store.writeIn !== undefined });
        },
        async () => {
          await pushLog.close();
          await deadLetters.close();
          await hubDb.close();
        },
      ),
      service('registry', () => registry.start(), () => registry.close()),
      service(
        'people',
        async () => {
          await importLegacyPeople(hubDb, config.dataDir, upgradeLog);
          await people.start();
        },
        () => people.close(),
      ),
      service('contacts', () => contacts.start(), () => contacts.close()),
      service('alert-store', async () => {
        await importLegacyAlerts(hubDb, config.dataDir, upgradeLog);
        await alertStore.load();
      }),
      service('push-subscriptions', () => pushSubscriptions.load()),
      service('store', () => store.start(), () => store.stop()),
      // Stops after the log (what it delivered is written and its cursor committed), before the store.
      service('influx-sink', () => undefined, () => influxSink?.stop()),
      service('facts', () => facts.start(), () => {
        unsubscribeFacts();
        nameOf.off();
        connections.off();
      }),
      // One stop for HTTP and push: no screen reconnects to a hub that is stopping (hub/push/http-service.ts).
      httpWithPush(http, push, config.http),
      // After the HTTP server (its upgrades), stopped before it: viewers are told RB_ERR_UNAVAILABLE.
      service('video', () => video.start(), () => video.stop()),
      // Signed out everywhere: a password change or a disable (REST, or the CLI in another process) drops the user's sockets.
      service(
        'sign-outs',
        () => void (offSignOut = people.onSignOut((userId) => push.disconnectUser(userId, 'signed-out'))),
        () => offSignOut(),
      ),
      service('alerts', () => alerts.start(), () => alerts.stop()),
      // Cluster: alert settings saved through another node are read again here (NOTIFY).
      alertSettingsSync({ hubDb, url: config.db.url, store: alertStore, wake: () => alerts.wake(), log: log.child({ module: 'hub.alerts' }) }),
      // After the alerts (it escalates through them), stopped before them; channels closed last.
      notifyService,
      service('state', () => state.start(), () => state.stop()),
      service('commands', () => commands.start(), () => commands.stop()),
      service('duty-sync', () => dutySync.start(), () => dutySync.stop()),
      service('orders-autoclose', () => autoClose.start(), () => autoClose.stop()),
      service('order-sweep', () => orderTiers.sweep.start(), () => orderTiers.sweep.stop()),
      // Every consumer has its listeners: resume each from its cursor, then deliver live.
      service('event-log', () => feed.start(), () => feed.stop()),
      // Cluster: take this node's share of the partitions (each resumes from its cursors); at stop,
      // hand them over (finished and saved) before the feed stops.
      service('partitions', () => leases?.start(), () => leases?.stop()),
      // After the log delivers (its missed events reach the alert rules) and the partitions are taken.
      service('patrol', () => patrol.start(), () => patrol.stop()),
      service(
        'log-retention',
        () => void (retention = startLogRetention({ log: eventLog, registry: metrics.registry, logger: log.child({ module: 'hub.eventlog' }) })),
        () => retention?.stop(),
      ),
      // Photos and closed work orders past orders.retention; order facts unsubscribed at stop.
      orderFigures.service,
      service(
        'registry-sync',
        () =>
          void (stopSync = startRegistrySync({
            registry,
            bus,
            disconnect: (e, g) => broker.disconnect(e, g),
            revoke: (e, g) => broker.revoke(e, g),
            log: log.child({ module: 'hub.registry' }),
          })),
        () => stopSync(),
      ),
      service('broker', () => broker.start(), async () => {
        orphanWills.stop();
        await broker.stop();
      }),
    ],
    { log: log.child({ module: 'hub.lifecycle' }) },
  );

  return {
    registry,
    store,
    bus,
    metrics,
    commands,
    facts,
    people,
    roster: people.roster,
    audit,
    alerts,
    alertStore,
    contacts,
    notify: { notifier, dispatcher, channels },
    orders,
    orderTiers,
    patrol,
    async start() {
      await runner.start();
      log.info({ http: this.httpAddress(), mqtt: broker.address(), store: store.kind, dataDir: config.dataDir, db: hubDb.dialect }, 'hub started');
    },
    async stop() {
      await runner.stop();
      log.info('hub stopped');
    },
    httpAddress() {
      const a = http.address();
      return a && typeof a === 'object' ? { host: a.address, port: a.port } : { host: config.http.host, port: config.http.port };
    },
    mqttAddress: () => broker.address(),
  };
}
