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
import { wireClips, type ClipsDeps } from '../clips/index.js';
import { cameraLookup, cameraRoutes } from './cameras.js';
import { videoDuration, type VideoConfig } from './config.js';
import { createVideoMetrics } from './metrics.js';
import { RELAY_MAX_PAYLOAD, createRelayEndpoint, refuseUpgrade } from './relay.js';
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
}

/**
 * Live video at the hub (issue 20, docs/video.md): the gateways' relay links and the viewers'
 * WebSockets on the hub's HTTP server (only their two paths; Socket.IO keeps its own upgrades), the
 * streams between them, and GET /api/v1/video/cameras. A relay link lives on the node the gateway
 * reached: a viewer on another node of a cluster is told RB_ERR_GATEWAY_OFFLINE (a known limit).
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
  const relay = createRelayEndpoint({ wss: relayWss, registry: deps.registry, streams, metrics, log });
  const viewers = createViewerEndpoint({ wss: liveWss, principals: deps.people.principals, streams, metrics, cameraGateway: cameraLookup(deps.state, streams), log });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== RELAY_PATH && path !== LIVE_PATH) return; // Socket.IO's own listener takes (or drops) it
    if (!config.enabled) return refuseUpgrade(socket, 404, 'RB_ERR_NOT_FOUND', 'live video is off on this hub (video.enabled)');
    if (stopping) return refuseUpgrade(socket, 503, 'RB_ERR_UNAVAILABLE', 'the hub is stopping; reconnect');
    if (path === RELAY_PATH) relay.upgrade(req, socket, head);
    else viewers.upgrade(req, socket, head);
  };

  const clips = wireClips({ ...deps.clips, config: config.clips, registry: deps.registry as ClipsDeps['registry'], people: deps.people, audit: deps.audit, log: deps.log.child({ part: 'clips' }) });

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
  let offSignOut: () => void = () => undefined;

  return {
    routes: [cameraRoutes(userAuth(deps.people.principals), deps.state, streams), ...clips.routes] as Router[],
    streams,
    clips: clips.store,
    start(): void {
      stopping = false;
      clips.start();
      deps.http.on('upgrade', onUpgrade);
      offSignOut = deps.people.onSignOut((userId) => viewers.signedOut(userId));
      pinger = setInterval(ping, videoDuration(config.keepAlive));
      pinger.unref();
    },
    /** Every viewer is told RB_ERR_UNAVAILABLE; every socket closes. */
    async stop(): Promise<void> {
      stopping = true;
      clearInterval(pinger);
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
      await clips.stop();
    },
  };
}

export type Video = ReturnType<typeof createVideo>;
