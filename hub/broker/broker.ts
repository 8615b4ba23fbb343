import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { clientIdFor, parseTopic, topics, type ParsedTopic } from '../../protocol/index.js';
import type { Bus, ConnectionKey } from '../bus.js';
import type { Ingest } from '../ingest/ingest.js';
import type { Metrics } from '../metrics.js';
import type { GatewayIdentity, Registry } from '../registry.js';
import { KeyedBuckets, type TokenBucket } from './limits.js';
import { startListeners, type Listeners } from './listeners.js';
import type { BrokerCluster } from './cluster.js';
import { DEFAULT_BROKER_LIMITS, type BrokerLimits } from './options.js';
import { fastObserver } from '../metrics-fast.js';
import { PacketGuard } from './packet-guard.js';
import { gatewayClientId, gatewayKey, topicProblem } from './policy.js';
import { retainProblem, watchRetained, type NotRetained } from './retained.js';
import { createSessions, willTs } from './sessions.js';
import { createHubPublish } from './hub-publish.js';
import type { OrphanWills } from './orphans.js';

export interface BrokerDeps {
  host: string;
  port: number;
  registry: Registry;
  ingest: Ingest;
  bus: Bus;
  metrics: Metrics;
  log: Logger;
  /** Sizes, timeouts, rates and TLS (brokerLimits(config)); default DEFAULT_BROKER_LIMITS. */
  limits?: BrokerLimits;
  /** `cluster.redisUrl` set: aedes on Redis (cluster.ts), one broker across hub nodes. */
  cluster?: BrokerCluster;
  /** aedes's heartbeatInterval: a node silent for 3 of them is dead to the others (default 60 s). */
  heartbeatMs?: number;
  /** Longest wait for a hub publish to reach Redis (cluster only; default 2 s). */
  publishTimeoutMs?: number;
  /** Last Wills of a silent node's gateways, judged after a grace (cluster only; orphans.ts). */
  orphanWills?: OrphanWills;
}

export interface Broker {
  start(): Promise<void>;
  stop(): Promise<void>;
  address(): { host: string; port: number };
  /** The MQTT over TLS listener, when a certificate is configured. */
  tlsAddress(): { host: string; port: number } | null;
  /**
   * Whether a publish from the hub can reach every node now (cluster: its Redis connections are up);
   * publish() rejects with RB_ERR_CLUSTER_UNAVAILABLE when not.
   */
  available(): boolean;
  /**
   * Publish from the hub itself (commands), bypassing the gateway ACL. A cluster refusal rejects with
   * RB_ERR_CLUSTER_UNAVAILABLE whose `details` say whether anything may still arrive (`nothingSent`).
   */
  publish(topic: string, payload: string, qos: 0 | 1): Promise<void>;
  /** Close the connection of one gateway (e.g. its secret was rotated). */
  disconnect(estate: string, gateway: string): void;
  /**
   * A gateway was revoked: close its connection and free what the broker keeps for it, its retained
   * status (its Last Will, published as the connection closes, is then not retained either).
   */
  revoke(estate: string, gateway: string): Promise<void>;
}

type RbClient = Client & {
  rb?: GatewayIdentity;
  /** Its topic prefix and its publish-rate bucket, looked up once at CONNECT rather than per PUBLISH. */
  rbPrefix?: string;
  rbRate?: TokenBucket;
  /** Topics this connection published to that passed every topic check (at most TOPIC_CACHE), parsed once. */
  rbTopics?: Map<string, ParsedTopic>;
  /** Set by revoke(): nothing this connection publishes is retained any more, its will included. */
  rbRevoked?: boolean;
  /** This connection's order among the gateway's connections (sessions.ts). */
  rbKey?: ConnectionKey;
  /** Decided in preConnect, answered with this CONNACK code by authenticate. */
  refuse?: { returnCode: 2 | 3; reason: string; message: string };
};

/** Topics remembered per connection: a gateway publishes to a few per device. Past it, the map starts again. */
const TOPIC_CACHE = 1024;

/** Error carrying the CONNACK return code aedes sends ([MQTT-3.2.2-3], table 3.1). */
function connackError(message: string, returnCode: 2 | 3 | 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * The embedded MQTT broker (aedes) with the hub's policy: gateways authenticate against the registry,
 * publish only under `rb/v1/{estate}/{gateway}/`, subscribe only to their own command topics. Every
 * publish goes through ingest *before* aedes sends PUBACK (aedes acknowledges QoS 1 after
 * authorizePublish returns), so an acknowledged event is a stored event.
 */
export function createBroker(deps: BrokerDeps): Broker {
  const { registry, ingest, metrics, log, bus } = deps;
  const limits = deps.limits ?? DEFAULT_BROKER_LIMITS;
  let aedes: Aedes | undefined;
  let listeners: Listeners | undefined;
  const connectRate = new KeyedBuckets(limits.connectRatePerIp, limits.connectBurstPerIp);
  const publishRate = new KeyedBuckets(limits.publishRate, limits.publishBurst);
  /** client id -> the gateway that first used it; catches ids two identities would share. */
  const sessionOwners = new Map<string, string>();
  const observeAck = fastObserver(metrics.ingestAck);
  /**
   * Gateway PUBLISHes that ingest consumed in authorizePublish: every one except a status to be
   * retained (retained.ts). No MQTT client can subscribe to a gateway's topics (the ACL grants a
   * gateway its own cmd topics only) and the hub reads them in process, so aedes's routing of each
   * one after the PUBACK (retained store, offline-subscription lookup, topic-tree match, 'publish'
   * event) has no receiver: skipped (measured: ~6 % of the hub's CPU per event). A payload ingest
   * dropped is thus never routed nor retained.
   */
  const consumed = new WeakSet<object>();
  const stripped = (kind: string, reason: NotRetained): void => metrics.mqttRetainStripped.inc({ kind, reason });
  const guardOf = (client: Client): PacketGuard | undefined => (client.conn instanceof PacketGuard ? client.conn : undefined);
  const { cluster } = deps;
  const sessions = createSessions(() => aedes?.id ?? '');

  async function build(): Promise<Aedes> {
    const created = await Aedes.createBroker({
      // a connection must complete CONNECT in time [MQTT-3.1.0-1]; slow or silent peers are closed
      connectTimeout: limits.connectTimeoutMs,
      heartbeatInterval: deps.heartbeatMs ?? 60_000,
      ...(cluster ? { mq: cluster.mq, persistence: cluster.persistence } : {}),
      preConnect(client, packet, done) {
        const c = client as RbClient;
        const ip = guardOf(client)?.remoteAddress ?? 'unknown';
        if (!packet.clientId) {
          // [MQTT-3.1.3-8]: CONNACK 2 for an empty id with CleanSession 0; a gateway always has one, so
          // the hub refuses it with CleanSession 1 too instead of assigning one ([MQTT-3.1.3-6] is a MAY)
          c.refuse = { returnCode: 2, reason: 'empty-client-id', message: 'identifier rejected: empty client id' };
        } else if (!connectRate.get(ip).tryTake()) {
          c.refuse = { returnCode: 3, reason: 'ip-rate', message: 'server unavailable: too many connection attempts' };
        } else if (cluster && !cluster.ready()) {
          // The session lives in Redis: without it aedes would wait on it with the CONNECT unanswered.
          c.refuse = { returnCode: 3, reason: 'redis', message: 'server unavailable: the cluster\'s Redis (cluster.redisUrl) is unreachable' };
        }
        done(null, true);
      },
      authenticate(client, username, password, done) {
        const c = client as RbClient;
        if (c.refuse) {
          const { returnCode, reason, message } = c.refuse;
          if (reason === 'ip-rate' || reason === 'redis') metrics.mqttConnectionsRefused.inc({ reason });
          else metrics.mqttProtocolErrors.inc({ reason });
          log.warn({ remote: guardOf(client)?.remoteAddress, username }, `MQTT connect refused: ${message}`);
          return done(connackError(message, returnCode), false);
        }
        if (!username || !password) {
          metrics.authFailures.inc({ reason: 'missing-credentials' });
          log.warn({ clientId: client.id }, 'MQTT connect refused: no username/password');
          return done(connackError('username and password required', 4), false);
        }
        registry
          .authenticate(username, password.toString('utf8'))
          .then((who) => {
            if (!who) {
              metrics.authFailures.inc({ reason: 'bad-credentials' });
              log.warn({ clientId: client.id, username }, 'MQTT connect refused: bad username or password');
              return done(connackError('bad username or password', 4), false);
            }
            const owner = sessionOwners.get(client.id);
            if (client.id !== gatewayClientId(who) || (owner !== undefined && owner !== gatewayKey(who))) {
              metrics.mqttProtocolErrors.inc({ reason: 'client-id-mismatch' });
              log.warn({ ...who, clientId: client.id }, `MQTT connect refused: client id must be ${gatewayClientId(who)}${owner ? ` (already the session of ${owner})` : ''}`);
              return done(connackError('identifier rejected: client id does not match the gateway', 2), false);
            }
            sessionOwners.set(client.id, gatewayKey(who));
            sessions.local(client.id, c);
            const since = willTs((client as unknown as { _will?: { payload?: Buffer } })._will);
            c.rbKey = { ...(since !== undefined ? { since } : {}), at: Date.now() };
            c.rb = who;
            c.rbPrefix = topics.gatewayPrefix(who.estate, who.gateway);
            // The gateway's bucket outlives its connections (a reconnect does not refill the burst).
            c.rbRate = publishRate.get(gatewayKey(who));
            done(null, true);
          })
          .catch((err: unknown) => {
            log.error({ err }, 'authentication failed');
            done(connackError('server unavailable', 5), false);
          });
      },
      authorizePublish(client, packet, done) {
        const c = client as RbClient | null;
        if (sessions.staleWill(c, packet as { clientId?: string })) {
          consumed.add(packet);
          metrics.mqttStaleWills.inc();
          log.info({ clientId: c?.id ?? (packet as { clientId?: string }).clientId, topic: packet.topic }, 'stale Last Will dropped: the gateway connected again since');
          return done(null);
        }
        // A null client is aedes publishing the will of a gateway that is already gone: kept by a node
        // gone silent (cluster: Redis), not connected here. Not ingested: a node only late or cut from
        // Redis for 3 heartbeats looks dead too, and its gateways are alive. Consumed (nothing retained).
        if (!c) {
          consumed.add(packet);
          // Shown offline after a grace unless the gateway is heard from meanwhile (orphans.ts). The
          // topic is a Redis entry's, not trusted: parsed, and the gateway must still be registered.
          const orphan = deps.orphanWills ? parseTopic(packet.topic) : null;
          if (orphan?.kind === 'status' && deps.registry.listGateways().some((g) => g.estate === orphan.estate && g.gateway === orphan.gateway && !g.revokedAt)) {
            deps.orphanWills!.announced({ estate: orphan.estate, gateway: orphan.gateway }, orphan, Buffer.from(packet.payload as Buffer));
          }
          return done(null);
        }
        const received = performance.now();
        const who = c.rb;
        if (!who) return done(new Error('not authenticated'));
        // A topic this connection already published to passed the checks below: not parsed again.
        let topic = c.rbTopics?.get(packet.topic);
        if (!topic) {
          const problem = topicProblem(packet.topic);
          if (problem) {
            // [MQTT-1.5.3-1], [MQTT-1.5.3-2]: close the connection; a refused message like any bad topic
            metrics.mqttProtocolErrors.inc({ reason: problem });
            metrics.rejected.inc({ reason: 'bad-topic' });
            log.warn({ ...who, topic: JSON.stringify(packet.topic.slice(0, 200)) }, `publish refused: ${problem}; connection closed`);
            return done(new Error(problem));
          }
          const parsed = parseTopic(packet.topic);
          if (!parsed) {
            metrics.rejected.inc({ reason: 'bad-topic' });
            log.warn({ ...who, topic: packet.topic.slice(0, 200) }, 'publish refused: not a Red Butler v1 topic');
            return done(new Error('topic not allowed'));
          }
          if (!packet.topic.startsWith(c.rbPrefix ?? topics.gatewayPrefix(who.estate, who.gateway))) {
            metrics.rejected.inc({ reason: 'acl' });
            log.warn({ ...who, topic: packet.topic }, 'publish refused: outside the gateway\'s own prefix');
            return done(new Error('topic outside ACL'));
          }
          topic = Object.freeze(parsed);
          const cache = (c.rbTopics ??= new Map());
          if (cache.size >= TOPIC_CACHE) cache.clear();
          cache.set(packet.topic, topic);
        }
        // Retained only: the gateway's own status, within the size cap, once ingest accepts it
        // (retained.ts); any other RETAIN 1 is stripped, the PUBLISH acknowledged as usual.
        let retain = false;
        // In a cluster nothing is retained: a retained status would go to Redis before aedes reads the
        // gateway's next packet, so ingest would wait on Redis; nobody may read it anyway (ACL), and
        // the status is in the event log.
        if (packet.retain && cluster) packet.retain = false;
        if (packet.retain) {
          const problem = c.rbRevoked ? 'revoked' : retainProblem(topic, packet.payload.length, limits.maxRetainedBytes);
          if (problem) {
            packet.retain = false;
            stripped(topic.kind, problem);
          } else retain = true;
        }
        // Consumed here, routed nowhere (see `consumed` above).
        if (!retain) consumed.add(packet);
        const store = (): void => {
          ingest
            .handle(who, topic, packet.payload as Buffer)
            .then((verdict) => {
              observeAck((performance.now() - received) / 1000);
              if (verdict.action === 'accept') return done(null);
              if (verdict.action === 'drop') {
                // Acknowledged (a retry cannot fix it), never routed nor retained: a refused status
                // leaves the last good one in place.
                if (retain) {
                  consumed.add(packet);
                  stripped(topic.kind, 'dropped');
                }
                return done(null);
              }
              log.warn({ ...who, topic: packet.topic, reason: verdict.reason }, `publish not acknowledged: ${verdict.message}`);
              done(new Error(verdict.message));
            })
            .catch((err: unknown) => {
              log.error({ err }, 'ingest failed');
              done(new Error('ingest failed'));
            });
        };
        // Over its rate a gateway is *delayed*: this publish waits for its token and the socket is not
        // read meanwhile (TCP pushes back to the gateway). Dropping is no option: a QoS 1 PUBLISH
        // must be stored before its PUBACK, and a gateway replaying its backlog must lose nothing.
        const wait = (c.rbRate ?? publishRate.get(gatewayKey(who))).reserve();
        if (wait <= 0) return store();
        metrics.mqttPublishDelayed.inc();
        metrics.mqttPublishDelaySeconds.inc(wait / 1000);
        const conn = guardOf(c);
        conn?.hold();
        setTimeout(() => {
          conn?.release();
          store();
        }, wait);
      },
      authorizeSubscribe(client, sub, done) {
        const who = (client as RbClient).rb;
        const problem = topicProblem(sub.topic);
        if (problem) {
          // [MQTT-1.5.3-1], [MQTT-1.5.3-2]: close the connection rather than answer SUBACK 0x80
          metrics.mqttProtocolErrors.inc({ reason: problem });
          log.warn({ ...who, topic: JSON.stringify(sub.topic.slice(0, 200)) }, `subscribe refused: ${problem}; connection closed`);
          return done(new Error(problem));
        }
        const own = who ? parseTopic(sub.topic.replace('/+/', '/x/')) : null;
        const allowed =
          who !== undefined &&
          (sub.topic === topics.gatewayCommands(who.estate, who.gateway) ||
            (own?.kind === 'cmd' && own.estate === who.estate && own.gateway === who.gateway && !sub.topic.includes('#')));
        if (!allowed) {
          metrics.subscribeDenied.inc();
          log.warn({ ...who, topic: sub.topic }, 'subscribe refused by ACL');
          return done(null, null); // SUBACK 0x80 for this filter, the connection stays
        }
        done(null, sub);
      },
    });
    const broker = created;
    const route = broker.publish.bind(broker) as (packet: object, client: unknown, done?: (err?: Error | null) => void) => void;
    // aedes calls broker.publish(packet, client, done) right after writing a QoS 1 PUBACK.
    (broker as unknown as { publish: typeof route }).publish = (packet, client, done) => {
      if (consumed.delete(packet)) return done?.(null);
      // A status accepted for retaining whose gateway was revoked before its PUBACK was written.
      if ((client as RbClient | null)?.rbRevoked) {
        if ((packet as { retain?: boolean }).retain) stripped('status', 'revoked');
        return done?.(null);
      }
      route(packet, client, done);
    };
    watchRetained((broker as unknown as { persistence: unknown }).persistence, { maxBytes: limits.maxRetainedBytes, metrics, log });
    broker.on('clientReady', (client) => {
      guardOf(client)?.connected();
      const who = (client as RbClient).rb;
      if (!who) return;
      metrics.gatewaysConnected.inc();
      bus.emit('gateway.connection', { ...who, connected: true, ...(client as RbClient).rbKey! });
    });
    broker.on('clientDisconnect', (client) => {
      const who = (client as RbClient).rb;
      if (!who) return;
      metrics.gatewaysConnected.dec();
      // Emitted even when a newer connection took over: the log says what happened, the state judges
      // by the key which connection is the latest.
      bus.emit('gateway.connection', { ...who, connected: false, ...(client as RbClient).rbKey! });
    });
    broker.on('clientError', (client, err) => {
      // aedes checks publish topic syntax (wildcards, empty, too many levels) itself and closes the
      // connection before authorizePublish runs; count and log those like every other bad topic.
      if (/ not allowed in PUBLISH$|^topic has too many levels$/.test(err.message)) {
        metrics.rejected.inc({ reason: 'bad-topic' });
        log.warn({ ...(client as RbClient).rb, clientId: client.id, err: err.message }, 'publish refused: invalid MQTT topic; connection closed');
        return;
      }
      log.debug({ clientId: client.id, err: err.message }, 'client error');
    });
    sessions.watch(broker);
    // aedes emits its own failures (a will sweep or a delivery while Redis is away): unheard, they would end the hub.
    (broker as unknown as NodeJS.EventEmitter).on('error', (err: Error) => log.warn({ err: err.message }, 'MQTT broker error'));
    broker.on('connectionError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'connection error'));
    return broker;
  }

  /** The connected client of one gateway (aedes keeps connected clients by id, not in its typings). */
  function clientOf(estate: string, gateway: string): RbClient | undefined {
    const clients = (aedes as unknown as { clients?: Record<string, RbClient> } | undefined)?.clients;
    const client = clients?.[clientIdFor(estate, gateway)];
    return client?.rb?.estate === estate && client.rb.gateway === gateway ? client : undefined;
  }

  const { publish, redeliver } = createHubPublish({ aedes: () => aedes, ...(cluster ? { cluster } : {}), publishTimeoutMs: deps.publishTimeoutMs ?? 2_000, log });

  return {
    async start() {
      const broker = await build();
      aedes = broker;
      cluster?.onResubscribed(redeliver);
      listeners = await startListeners({ host: deps.host, port: deps.port, limits, metrics, log, handle: (conn) => broker.handle(conn) });
      log.info({ ...this.address(), tls: this.tlsAddress(), maxPacketBytes: limits.maxPacketBytes }, 'MQTT broker listening');
    },
    async stop() {
      await listeners?.close();
      const closed = new Promise<void>((resolve) => (aedes ? aedes.close(() => resolve()) : resolve()));
      if (!cluster) return closed;
      // Redis away, what aedes writes as it closes waits in ioredis's queue (until it gives up, ~30 s
      // and more): bounded, then the connections end and fail what is left.
      await Promise.race([closed, new Promise((r) => setTimeout(r, cluster.ready() ? 5_000 : 500).unref())]);
      await cluster.close();
    },
    available: () => aedes !== undefined && (!cluster || cluster.ready()),
    publish(topic, payload, qos) {
      return publish({ topic, payload: Buffer.from(payload), qos, retain: false });
    },
    disconnect(estate, gateway) {
      clientOf(estate, gateway)?.close();
    },
    async revoke(estate, gateway) {
      const client = clientOf(estate, gateway);
      if (client) {
        client.rbRevoked = true;
        client.close();
      }
      // [MQTT-3.3.1-10], [MQTT-3.3.1-11]: a zero-byte retained PUBLISH removes the topic's retained
      // message (and tells any subscriber); it passes through watchRetained, which updates the gauges.
      // A cluster retains nothing.
      if (aedes && !cluster) await publish({ topic: topics.status(estate, gateway), payload: Buffer.alloc(0), qos: 0, retain: true });
    },
    address: () => listeners?.address() ?? { host: deps.host, port: deps.port },
    tlsAddress: () => listeners?.tlsAddress() ?? null,
  };
}
