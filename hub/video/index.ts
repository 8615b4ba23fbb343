import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Registry as PromRegistry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Audit } from '../audit.js';
import { userAuth } from '../api/user-auth.js';
import type { People } from '../people/index.js';
import type { Registry } from '../registry.js';
import type { StateService } from '../state/index.js';
import type { HubDatabase } from '../platform/db/index.js';
import { wireClips, type ClipsDeps } from '../clips/index.js';
import { cameraLookup, cameraRoutes } from './cameras.js';
import { videoDuration, type VideoConfig } from './config.js';
import { createVideoMetrics } from './metrics.js';
import { RELAY_MAX_PAYLOAD, createRelayEndpoint, refuseUpgrade } from './relay.js';
import { createRelayRegistry, type HeldLink, type RelayRegistry } from './relays.js';
import { createStreams } from './streams.js';
import { VIEWER_MAX_PAYLOAD, createViewerEndpoint } from './viewer.js';

export const RELAY_PATH = '/api/v1/video/relay';
export const LIVE_PATH = '/api/v1/video/live';
/** Sockets are pinged this often; one that has not answered the previous ping is dropped (a dead NAT path). */

export interface VideoDeps {
  http: Server;
  config: VideoConfig;
  registry: Pick<Registry, 'authenticate'>;
  people: Pick<People, 'principals' | 'onSignOut'>;
  state: Pick<StateService, 'live'>;
  audit: Pick<Audit, 'recordInBackground'>;
  metrics: PromRegistry;
  log: Logger;
  /** Alarm clips (hub/clips): where they are kept and the alerts they belong to. */
  clips: Pick<ClipsDeps, 'db' | 'dataDir' | 'alerts' | 'nameOf' | 'sweepEveryMs'>;
  /**
   * This node (`cluster.nodeId`) and the shared database: on PostgreSQL every node records the relay
   * links it holds (hub/video/relays.ts, renewed every third of `ttlMs`, the cluster's lease TTL), so
   * any node's cameras view and viewers know where a gateway's relay is. The embedded hub is one node.
   */
  cluster?: { db: HubDatabase; nodeId: string; ttlMs: number };
}

/**
 * Live video at the hub (issue 20, docs/video.md): the gateways' relay links and the viewers'
 * WebSockets on the hub's HTTP server (only their two paths; Socket.IO keeps its own upgrades), the
 * streams between them, and GET /api/v1/video/cameras. A relay link lives on the node the gateway
 * reached; in a cluster the shared table `video_relays` says which node that is, the cameras view
 * names it (`node`) and HAProxy routes `/api/v1/video/live?node=<id>` there. A viewer on another node
 * is told RB_ERR_GATEWAY_OFFLINE naming the node that holds the relay.
 */
export function createVideo(deps: VideoDeps) {
  const { config, log } = deps;
  let stopping = false;
  const metrics = createVideoMetrics(deps.metrics, { streams: () => streams.streams(), viewers: () => streams.viewers(), links: () => streams.links() });
  const streams = createStreams({
    limits: {
      lingerMs: videoDuration(config.linger),
      openTimeoutMs: videoDuration(config.openTimeout),
      maxViewersPerStream: config.maxViewersPerStream,
      maxStreamsPerEstate: config.maxStreamsPerEstate,
      maxBytesPerSecondPerEstate: config.maxBytesPerSecondPerEstate,
      maxViewerBufferBytes: config.maxViewerBufferBytes,
    },
    metrics,
    log,
    onViewEnd: ({ actor, target, durationMs, bytes }) =>
      deps.audit.recordInBackground({ actor, action: 'video.live', estate: target.estate, target: `device:${target.device}`, detail: { quality: target.quality, durationMs, bytes } }),
  });
  const relayWss = new WebSocketServer({ noServer: true, maxPayload: RELAY_MAX_PAYLOAD, perMessageDeflate: false });
  const liveWss = new WebSocketServer({ noServer: true, maxPayload: VIEWER_MAX_PAYLOAD, perMessageDeflate: false });
  const c = deps.cluster;
  const relays: RelayRegistry | undefined = c && c.db.dialect === 'postgres' ? createRelayRegistry({ db: c.db, nodeId: c.nodeId, ttlMs: c.ttlMs, log }) : undefined;
  const held = new Map<string, HeldLink>();
  const events = relays && {
    up: (l: HeldLink) => void (held.set(l.id, l), relays.claim(l)),
    hello: (l: HeldLink) => void relays.hello(l),
    down: (l: HeldLink) => void (held.delete(l.id), relays.release(l)),
  };
  const relay = createRelayEndpoint({ wss: relayWss, registry: deps.registry, streams, metrics, log, ...(events ? { events } : {}) });
  const holderOf = async (estate: string, gateway: string) => {
    const h = await relays?.holder(estate, gateway);
    return h && h.node !== c?.nodeId ? h.node : null;
  };
  const viewers = createViewerEndpoint({ wss: liveWss, principals: deps.people.principals, streams, metrics, cameraGateway: cameraLookup(deps.state, streams, relays), holderOf, log });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== RELAY_PATH && path !== LIVE_PATH) return; // Socket.IO's own listener takes (or drops) it
    if (!config.enabled) return refuseUpgrade(socket, 404, 'RB_ERR_NOT_FOUND', 'live video is off on this hub (video.enabled)');
    if (stopping) return refuseUpgrade(socket, 503, 'RB_ERR_UNAVAILABLE', 'the hub is stopping; reconnect');
    if (path === RELAY_PATH) relay.upgrade(req, socket, head);
    else viewers.upgrade(req, socket, head);
  };

  const clips = wireClips({ ...deps.clips, config: config.clips, registry: deps.registry, people: deps.people, audit: deps.audit, log: deps.log.child({ part: 'clips' }) });

  const alive = new WeakSet<WebSocket>();
  const ping = () => {
    for (const ws of [...relayWss.clients, ...liveWss.clients]) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  };
  const track = (ws: WebSocket) => {
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
  };
  relayWss.on('connection', track);
  liveWss.on('connection', track);
  let pinger: NodeJS.Timeout | undefined;
  let renewer: NodeJS.Timeout | undefined;
  let offSignOut: () => void = () => undefined;

  return {
    routes: [cameraRoutes(userAuth(deps.people.principals), deps.state, streams, relays, c?.nodeId), ...clips.routes] as Router[],
    streams,
    relays,
    clips: clips.store,
    start(): void {
      stopping = false;
      clips.start();
      deps.http.on('upgrade', onUpgrade);
      offSignOut = deps.people.onSignOut((userId) => viewers.signedOut(userId));
      pinger = setInterval(ping, videoDuration(config.keepAlive));
      pinger.unref();
      if (relays) {
        // Rows of an earlier run of this node are links long gone; queued before any claim.
        void relays.releaseAll();
        let renewing = false; // one renewal at a time: a hung database does not pile them up
        renewer = setInterval(() => {
          if (renewing) return;
          renewing = true;
          void relays.renew([...held.values()]).finally(() => (renewing = false));
        }, Math.max(100, Math.floor(relays.ttlMs / 3)));
        renewer.unref();
      }
    },
    /** Every viewer is told RB_ERR_UNAVAILABLE; every socket closes. */
    async stop(): Promise<void> {
      stopping = true;
      clearInterval(pinger);
      clearInterval(renewer);
      offSignOut();
      deps.http.off('upgrade', onUpgrade);
      streams.stopAll();
      for (const ws of liveWss.clients) {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ t: 'error', code: 'RB_ERR_UNAVAILABLE', message: 'the hub is stopping; reconnect' }));
        ws.close(1001, 'RB_ERR_UNAVAILABLE');
      }
      for (const ws of relayWss.clients) ws.close(1001, 'the hub is stopping');
      // Give the close handshakes a moment, then drop whatever did not answer.
      const deadline = Date.now() + 1000;
      while ((liveWss.clients.size > 0 || relayWss.clients.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const ws of [...liveWss.clients, ...relayWss.clients]) ws.terminate();
      // The other nodes see this node's relays gone at once, not after the TTL (bounded: the database may be away).
      if (relays) await Promise.race([relays.releaseAll(), new Promise((r) => setTimeout(r, 2000).unref())]);
      await clips.stop();
    },
  };
}

export type Video = ReturnType<typeof createVideo>;
