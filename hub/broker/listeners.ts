import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { BrokerLimits } from './options.js';
import { PacketGuard } from './packet-guard.js';
import { readProxyHeader } from './proxy-protocol.js';

export interface Listeners {
  address(): { host: string; port: number };
  tlsAddress(): { host: string; port: number } | null;
  /** Destroy every connection and close the listeners. */
  close(): Promise<void>;
}

export interface ListenerDeps {
  host: string;
  port: number;
  limits: BrokerLimits;
  metrics: Metrics;
  log: Logger;
  /** Hand a guarded connection to aedes. */
  handle(conn: PacketGuard): void;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function addressOf(server: Server | undefined, host: string, port: number): { host: string; port: number } {
  const a = server?.address();
  return a && typeof a === 'object' ? { host: a.address, port: a.port } : { host, port };
}

/**
 * The MQTT listeners: plain TCP and, with a certificate, TLS, both feeding one aedes. Every accepted
 * TCP connection (TLS ones before their handshake) counts against `maxConnections`, gets `noDelay`
 * (small PUBACKs must not wait for Nagle) and reaches aedes only through a PacketGuard.
 */
export async function startListeners(deps: ListenerDeps): Promise<Listeners> {
  const { limits, metrics, log } = deps;
  const sockets = new Set<Socket>();

  /** Admit a raw TCP connection (either listener); false = refused and destroyed. */
  function admit(socket: Socket): boolean {
    if (sockets.size >= limits.maxConnections) {
      metrics.mqttConnectionsRefused.inc({ reason: 'max-connections' });
      log.warn({ remote: socket.remoteAddress, open: sockets.size }, 'MQTT connection refused: too many open connections');
      socket.destroy();
      return false;
    }
    socket.setNoDelay(true);
    sockets.add(socket);
    metrics.mqttConnectionsOpen.inc();
    socket.once('close', () => {
      sockets.delete(socket);
      metrics.mqttConnectionsOpen.dec();
    });
    return true;
  }

  function guard(socket: Socket, remoteAddress?: string): void {
    const conn = new PacketGuard(socket, {
      ...(remoteAddress ? { remoteAddress } : {}),
      maxPacketBytes: limits.maxPacketBytes,
      maxConnectBytes: limits.maxConnectBytes,
      onViolation(v) {
        if (v.kind === 'oversize') metrics.mqttOversize.inc({ phase: v.phase });
        else metrics.mqttProtocolErrors.inc({ reason: v.kind });
        log.warn({ remote: conn.remoteAddress, ...v }, `MQTT connection closed: ${v.kind === 'oversize' ? 'packet over the size limit' : 'malformed Remaining Length'}`);
      },
    });
    deps.handle(conn);
  }

  /**
   * Behind a balancer (mqtt.proxyProtocol): the PROXY v2 header first, within the connect timeout;
   * then the guard sees the client's address, and the bytes behind the header go to MQTT as usual.
   */
  function viaProxy(socket: Socket): void {
    readProxyHeader(socket, limits.connectTimeoutMs).then(
      (header) => {
        if (socket.destroyed) return;
        guard(socket, header.command === 'proxy' ? header.source.address : undefined);
        socket.resume();
      },
      (err: Error) => {
        metrics.mqttConnectionsRefused.inc({ reason: 'proxy-protocol' });
        log.warn({ peer: socket.remoteAddress, err: err.message }, 'MQTT connection refused: no valid PROXY protocol v2 header (mqtt.proxyProtocol is on)');
        socket.destroy();
      },
    );
  }

  const tcp = createServer({ noDelay: true }, (socket) => {
    if (!admit(socket)) return;
    if (limits.proxyProtocol) viaProxy(socket);
    else guard(socket);
  });
  await listen(tcp, deps.port, deps.host);

  let tls: Server | undefined;
  if (limits.tls) {
    // handshakeTimeout: a peer that never finishes the handshake is the TLS form of a missing CONNECT
    const server = createTlsServer({ cert: limits.tls.cert, key: limits.tls.key, noDelay: true, handshakeTimeout: limits.connectTimeoutMs });
    server.on('connection', (socket: Socket) => void admit(socket));
    server.on('secureConnection', (socket: TLSSocket) => guard(socket));
    server.on('tlsClientError', (err, socket) => {
      log.debug({ remote: socket.remoteAddress, err: err.message }, 'TLS handshake failed');
      socket.destroy();
    });
    tls = server;
    try {
      await listen(server, limits.tls.port, deps.host);
    } catch (err) {
      tcp.close();
      throw err;
    }
  }

  return {
    address: () => addressOf(tcp, deps.host, deps.port),
    tlsAddress: () => (tls ? addressOf(tls, deps.host, limits.tls!.port) : null),
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([tcp, tls].map((s) => new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()))));
    },
  };
}
