import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { DeviceMeter } from '../devices/types.js';
import type { GatewayStatus } from '../protocol/index.js';
import type { GatewayConfig } from './config.js';
import { createGatewayMetrics } from './metrics.js';
import type { Uplink } from './uplink.js';
import type { VideoRelayStats } from './video/relay.js';

export interface GatewayObserverDeps {
  config: Pick<GatewayConfig, 'metrics'>;
  log: Logger;
  /** The gateway's status (gateway/main.ts `status()`): the one source of device health. */
  status(): GatewayStatus;
  uplink: Pick<Uplink, 'connected' | 'stats'>;
  /** The video relay's counters (gateway/video/relay.ts), when it runs. */
  video?: () => VideoRelayStats | undefined;
}

export interface GatewayObserver {
  /** Listen, when `metrics.port` is set; otherwise do nothing. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The meter for a device's DriverContext (counts whether or not /metrics is served). */
  meter(device: string): DeviceMeter;
  /** Where it listens (the real port when configured as 0), or undefined when off. */
  address(): { host: string; port: number } | undefined;
}

/** Body of `GET /healthz`. */
export interface GatewayHealth {
  /** `degraded` when any of `problems` holds; the HTTP status is 200 either way. */
  status: 'ok' | 'degraded';
  /** One line each: "uplink: not connected", "device cam-1: auth-failed", "outbox: at a cap, dropping routine events". */
  problems: string[];
  estate: string;
  gateway: string;
  version: string | undefined;
  uptimeS: number | undefined;
  uplink: { connected: boolean; lastHubContact: number | null; lastHubContactAgeS: number | null; reconnects: number };
  outbox: NonNullable<GatewayStatus['outbox']> | undefined;
  devices: Array<{ id: string } & NonNullable<GatewayStatus['devices']>[string] & { state: 'online' | 'offline' | 'auth-failed' }>;
}

/** The /healthz body: the status the gateway sends the hub, reshaped for an installer at the gateway. */
export function healthOf(s: GatewayStatus, connected: boolean, now = Date.now()): GatewayHealth {
  const problems: string[] = [];
  if (!connected) problems.push('uplink: not connected to the hub');
  if (s.outbox?.pressure) problems.push('outbox: at a cap or out of disk, dropping routine events');
  const devices = Object.entries(s.devices ?? {}).map(([id, h]) => {
    const state = h.state ?? (h.online ? 'online' : 'offline');
    if (state !== 'online') problems.push(`device ${id}: ${state}${h.error ? ` (${h.error})` : ''}`);
    return { id, ...h, state };
  });
  const contact = s.lastHubContact ?? null;
  return {
    status: problems.length ? 'degraded' : 'ok',
    problems,
    estate: s.estate,
    gateway: s.gateway,
    version: s.version,
    uptimeS: s.uptimeS,
    uplink: {
      connected,
      lastHubContact: contact,
      lastHubContactAgeS: contact === null ? null : Math.max(0, (now - contact) / 1000),
      reconnects: s.reconnects ?? 0,
    },
    outbox: s.outbox,
    devices,
  };
}

/**
 * The gateway's local `/metrics` (Prometheus text) and `/healthz` (JSON), for an installer or a
 * Prometheus/healthcheck on the gateway machine: what each device is doing, without the hub. Off
 * unless `metrics.port` is set; bound to loopback unless `metrics.host` says otherwise.
 *
 * `/healthz` answers 200 whenever it answers: the listener exists only between a complete start and
 * the beginning of stop. A lost hub, an offline camera or a full outbox make `status: "degraded"`,
 * never a 503: a docker/systemd healthcheck that failed on them would restart a gateway that is doing
 * its job (buffering events in the outbox until the hub is back), which fixes none of them.
 */
export function createGatewayObserver(deps: GatewayObserverDeps): GatewayObserver {
  const { config, log } = deps;
  const metrics = createGatewayMetrics({ status: deps.status, uplink: deps.uplink, video: deps.video });
  let server: Server | undefined;

  function address(): { host: string; port: number } | undefined {
    const a = server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : undefined;
  }

  function send(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string): void {
    res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz') return send(req, res, 404, 'text/plain; charset=utf-8', 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    if (path === '/metrics') {
      const { contentType, body } = await metrics.scrape();
      return send(req, res, 200, contentType, body);
    }
    const body = healthOf(deps.status(), deps.uplink.connected());
    send(req, res, 200, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
  }

  return {
    meter: (device) => metrics.meter(device),
    address,
    async start() {
      const { port, host } = config.metrics;
      if (port === undefined) return;
      metrics.start();
      const s = createServer((req, res) => {
        handle(req, res).catch((err: unknown) => {
          log.warn({ err }, 'metrics request failed');
          if (!res.headersSent) send(req, res, 500, 'text/plain; charset=utf-8', 'internal error\n');
          else res.destroy();
        });
      });
      // A scraper that opens a connection and sends nothing must not hold it forever.
      s.headersTimeout = 5_000;
      s.requestTimeout = 10_000;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      s.on('error', (err) => log.warn({ err }, 'metrics listener error'));
      server = s;
      log.info({ address: address() }, 'serving /metrics and /healthz');
    },
    async stop() {
      const s = server;
      server = undefined;
      metrics.stop();
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
  };
}
