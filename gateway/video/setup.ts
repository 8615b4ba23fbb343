import type { Logger } from 'pino';
import type { Driver } from '../../devices/types.js';
import type { RbEvent } from '../../protocol/index.js';
import type { GatewayConfig } from '../config.js';
import { createClipRecorder, type ClipRecorder } from './clips.js';
import { createVideoRelay, type VideoRelay } from './relay.js';
import { videoDurationMs } from './secrets.js';

export interface GatewayVideo {
  /** Live view (docs/video.md); undefined when video.enabled is false or hub.httpUrl is unset. */
  relay: VideoRelay | undefined;
  /** Alarm clips; undefined when video.clips.enabled (or video) is off or hub.httpUrl is unset. */
  clips: ClipRecorder | undefined;
  start(): void;
  stop(): Promise<void>;
  /** The devices or their camera links changed (config reload). */
  devicesChanged(): void;
  /** An alarm-class event the outbox kept, from a device linked to `cameras`. */
  alarm(event: RbEvent, cameras: readonly string[]): void;
}

export interface GatewayVideoDeps {
  config: GatewayConfig;
  version: string;
  /** The devices running now (reload changes them). */
  devices(): Iterable<[string, Driver]>;
  /** Camera links per device (devices[].cameras), as running now. */
  camerasOf: ReadonlyMap<string, readonly string[]>;
  log: Logger;
}

/** The gateway's video parts, built from config: the live relay and the alarm-clip recorder. */
export function createGatewayVideo(d: GatewayVideoDeps): GatewayVideo {
  const { config, log } = d;
  const v = config.video;
  const hubUrl = config.hub.httpUrl;
  const common = {
    ffmpeg: v.ffmpeg,
    maxSegmentBytes: v.maxSegmentBytes,
    startTimeoutMs: videoDurationMs(v.startTimeout),
    stallTimeoutMs: videoDurationMs(v.stallTimeout),
  };
  const relay =
    v.enabled && hubUrl
      ? createVideoRelay({
          ...common,
          hubUrl,
          username: config.hub.username,
          password: config.hub.password,
          version: d.version,
          devices: d.devices,
          maxStreams: v.maxStreams,
          backoffMinMs: config.uplink.backoffMinMs,
          backoffMaxMs: config.uplink.backoffMaxMs,
          log: log.child({ module: 'gateway.video' }),
        })
      : undefined;
  const driverOf = (id: string): Driver | undefined => new Map(d.devices()).get(id);
  const clips =
    v.enabled && v.clips.enabled && hubUrl
      ? createClipRecorder({
          ...common,
          dataDir: config.dataDir,
          hubUrl,
          username: config.hub.username,
          password: config.hub.password,
          quality: v.clips.quality,
          beforeMs: videoDurationMs(v.clips.before),
          afterMs: videoDurationMs(v.clips.after),
          maxPending: v.clips.maxPending,
          cameras: () => [...new Set([...d.camerasOf.values()].flat())].filter((c) => typeof driverOf(c)?.streams === 'function'),
          sources: (camera, signal) => driverOf(camera)?.streams?.(signal),
          log: log.child({ module: 'gateway.clips' }),
        })
      : undefined;
  return {
    relay,
    clips,
    start() {
      relay?.start();
      clips?.start();
      const cameras = [...d.devices()].filter(([, drv]) => drv.streams).map(([id]) => id);
      if (v.enabled && !hubUrl && cameras.length) log.warn({ cameras }, 'live video and clips are off: hub.httpUrl is not set');
    },
    async stop() {
      await Promise.all([relay?.stop(), clips?.stop()]);
    },
    devicesChanged() {
      relay?.devicesChanged();
      clips?.camerasChanged();
    },
    alarm(event, cameras) {
      clips?.capture(event, cameras);
    },
  };
}
