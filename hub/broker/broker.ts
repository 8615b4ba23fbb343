import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { parseTopic, topics } from '../../protocol/index.js';
import type { Bus } from '../bus.js';
import type { Ingest } from '../ingest/ingest.js';
import type { Metrics } from '../metrics.js';
import type { GatewayIdentity, Registry } from '../registry.js';

export interface BrokerDeps {
  host: string;
  port: number;
  registry: Registry;
  ingest: Ingest;
  bus: Bus;
  metrics: Metrics;
  log: Logger;
}

export interface Broker {
  start(): Promise<void>;
  stop(): Promise<void>;
  address(): { host: string; port: number };
  /** Publish from the hub itself (commands), bypassing the gateway ACL. */
  publish(topic: string, payload: string, qos: 0 | 1): Promise<void>;
  /** Close the connection of one gateway (e.g. its secret was revoked). */
  disconnect(estate: string, gateway: string): void;
}

type RbClient = Client & { rb?: GatewayIdentity };

/** Error carrying the CONNACK return code aedes sends ([MQTT-3.2.2-3], table 3.1). */
function connackError(message: string, returnCode: 4 | 5): AuthenticateError {
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
  let aedes: Aedes | undefined;
  let server: Server | undefined;
  const sockets = new Set<Socket>();

  async function build(): Promise<Aedes> {
    const broker = await Aedes.createBroker({
      connectTimeout: 10_000,
      heartbeatInterval: 60_000,
      authenticate(client, username, password, done) {
        const c = client as RbClient;
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
            c.rb = who;
            done(null, true);
          })
          .catch((err: unknown) => {
            log.error({ err }, 'authentication failed');
            done(connackError('server unavailable', 5), false);
          });
      },
      authorizePublish(client, packet, done) {
        const c = client as RbClient | null;
        // A null client is aedes publishing the will of a gateway that is already gone; it was checked
        // against the ACL when that gateway connected.
        if (!c) return done(null);
        const who = c.rb;
        const topic = parseTopic(packet.topic);
        if (!who) return done(new Error('not authenticated'));
        if (!topic) {
          metrics.rejected.inc({ reason: 'bad-topic' });
          log.warn({ ...who, topic: packet.topic.slice(0, 200) }, 'publish refused: not a Red Butler v1 topic');
          return done(new Error('topic not allowed'));
        }
        if (!packet.topic.startsWith(topics.gatewayPrefix(who.estate, who.gateway))) {
          metrics.rejected.inc({ reason: 'acl' });
          log.warn({ ...who, topic: packet.topic }, 'publish refused: outside the gateway\'s own prefix');
          return done(new Error('topic outside ACL'));
        }
        ingest
          .handle(who, topic, packet.payload as Buffer)
          .then((verdict) => {
            if (verdict.action === 'accept' || verdict.action === 'drop') return done(null);
            log.warn({ ...who, topic: packet.topic, reason: verdict.reason }, `publish not acknowledged: ${verdict.message}`);
            done(new Error(verdict.message));
          })
          .catch((err: unknown) => {
            log.error({ err }, 'ingest failed');
            done(new Error('ingest failed'));
          });
      },
      authorizeSubscribe(client, sub, done) {
        const who = (client as RbClient).rb;
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
    broker.on('clientReady', (client) => {
      const who = (client as RbClient).rb;
      if (!who) return;
      metrics.gatewaysConnected.inc();
      bus.emit('gateway.connection', { ...who, connected: true });
    });
    broker.on('clientDisconnect', (client) => {
      const who = (client as RbClient).rb;
      if (!who) return;
      metrics.gatewaysConnected.dec();
      bus.emit('gateway.connection', { ...who, connected: false });
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
    broker.on('connectionError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'connection error'));
    return broker;
  }

  return {
    async start() {
      aedes = await build();
      const handle = aedes.handle.bind(aedes);
      server = createServer({ noDelay: true }, (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        handle(socket);
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(deps.port, deps.host, () => resolve());
      });
      log.info(this.address(), 'MQTT broker listening');
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await new Promise<void>((resolve) => (aedes ? aedes.close(() => resolve()) : resolve()));
    },
    publish(topic, payload, qos) {
      return new Promise((resolve, reject) => {
        if (!aedes) return reject(new Error('broker not started'));
        aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false }, (err) =>
          err ? reject(err) : resolve(),
        );
      });
    },
    disconnect(estate, gateway) {
      // aedes keeps connected clients by id (not in its typings).
      const clients = (aedes as unknown as { clients?: Record<string, RbClient> } | undefined)?.clients;
      const client = clients?.[`rb-${estate}-${gateway}`];
      if (client?.rb?.estate === estate && client.rb.gateway === gateway) client.close();
    },
    address() {
      const a = server?.address();
      return a && typeof a === 'object' ? { host: a.address, port: a.port } : { host: deps.host, port: deps.port };
    },
  };
}
