import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isAlarmEvent, parseTopic, topics, DELIVERY, type DutyList, type GatewayStatus } from '../protocol/index.js';
import { driverRegistry } from '../devices/registry.js';
import type { DraftEvent, Driver, DriverFactory } from '../devices/types.js';
import { createRunner, service } from '../lib/service.js';
import { createCommandLog } from './command-log.js';
import { createCommandExecutor, type CommandExecutor } from './commands.js';
import type { GatewayConfig } from './config.js';
import { createEdgeWarner } from './edge.js';
import { stampEvent } from './envelope.js';
import { randomEventId } from './event-id.js';
import type { AppendResult, Outbox } from './outbox.js';
import { createSqliteOutbox } from './outbox-sqlite.js';
import { createGatewayObserver } from './observe.js';
import { createPressureMonitor } from './pressure.js';
import { createSnapshotService } from './snapshots.js';
import { createPushServer } from './push-server.js';
import { buildStatus } from './status.js';
import { createUplink, type Uplink } from './uplink.js';
import type { ClipRecorder } from './video/clips.js';
import type { VideoRelay } from './video/relay.js';
import { createGatewayVideo } from './video/setup.js';
import { VERSION } from '../lib/version.js';

export interface GatewayDeps {
  config: GatewayConfig;
  log: Logger;
  /** Defaults to the durable SQLite outbox in `config.dataDir`. */
  outbox?: Outbox;
  /** Pressure event timing (pressure.ts defaults: repeat 60 s, quiet 30 s); tests shorten it. */
  pressure?: { repeatMs?: number; quietMs?: number };
}

export interface Gateway {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Where devices push to (the real port when configured as 0). */
  pushAddress(): { host: string; port: number };
  status(): GatewayStatus;
  /** Apply a re-read config file: devices are restarted as needed; other keys need a restart. */
  reload(next: GatewayConfig): Promise<ReloadResult>;
  readonly outbox: Outbox;
  readonly uplink: Uplink;
  readonly commands: CommandExecutor;
  /** The live-video relay (docs/video.md); undefined when video.enabled is false or hub.httpUrl is unset. */
  readonly video: VideoRelay | undefined;
  /** Alarm clips (docs/video.md); undefined when video.clips.enabled is false or hub.httpUrl is unset. */
  readonly clips: ClipRecorder | undefined;
}

/** Composition root of the gateway: the only place that builds its services. */
export function createGateway(deps: GatewayDeps): Gateway {
  const { config, log } = deps;
  /** The devices in effect (reload() replaces them); every other key stays as started. */
  let current = config;
  const startedAt = Date.now();
  const outbox =
    deps.outbox ??
    createSqliteOutbox({
      file: join(config.dataDir, 'outbox.db'),
      log,
      maxRecords: config.outbox.maxRecords,
      maxBytes: config.outbox.maxBytes,
      synchronous: config.outbox.sync,
    });
  // Opened at start(), like every store: building the gateway does no I/O.
  const commandLog = createCommandLog(join(config.dataDir, 'commands.db'));
  const push = createPushServer({
    host: config.devicePush.host,
    port: config.devicePush.port,
    maxBodyBytes: config.devicePush.maxBodyBytes,
    requestTimeoutMs: config.devicePush.requestTimeoutMs,
    log: log.child({ module: 'gateway.push' }),
  });
  const devices = new Map<string, { driver: Driver; factory: DriverFactory }>();
  const namesOf = new Map<string, string>();
  const camerasOf = new Map<string, string[]>();
  const snapshots = createSnapshotService({
    dataDir: config.dataDir,
    hubUrl: config.hub.httpUrl,
    username: config.hub.username,
    password: config.hub.password,
    log: log.child({ module: 'gateway.snapshots' }),
    async take(camera, signal) {
      const entry = devices.get(camera);
      if (!entry?.driver.execute) throw new Error(`device ${camera} cannot take snapshots`);
      const data = (await entry.driver.execute({ id: randomEventId(Date.now()), name: 'camera.snapshot', args: {}, signal })) as
        | { bytes?: string; sha256?: string }
        | undefined;
      if (typeof data?.bytes !== 'string' || typeof data.sha256 !== 'string') throw new Error(`camera ${camera} returned no snapshot`);
      return { bytes: Buffer.from(data.bytes, 'base64'), sha256: data.sha256 };
    },
  });
  let heartbeat: NodeJS.Timeout | undefined;
  let statusSoon: NodeJS.Timeout | undefined;
  const sendStatusSoon = (): void => {
    statusSoon = undefined;
    void uplink.publishStatus(status('heartbeat'));
  };

  const hash = (value: string): string =>
    createHmac('sha256', config.privacy.salt).update(value, 'utf8').digest('hex').slice(0, 32);

  const status = (reason: GatewayStatus['reason'], state: GatewayStatus['state'] = 'online'): GatewayStatus =>
    buildStatus(
      { estate: config.estate, gateway: config.gateway, startedAt, devices, names: namesOf, cameras: camerasOf, outbox, uplink, pressureActive: () => pressure.active(), edgeSms: config.edge !== undefined },
      reason,
      state,
    );

  const uplink = createUplink({
    estate: config.estate,
    gateway: config.gateway,
    url: config.hub.url,
    username: config.hub.username,
    password: config.hub.password,
    keepaliveS: config.hub.keepaliveS,
    outbox,
    log: log.child({ module: 'gateway.uplink' }),
    ...config.uplink,
    subscriptions: [topics.gatewayCommands(config.estate, config.gateway)],
    onConnect: () => void uplink.publishStatus(status('connected')),
    onAck: (seq) => {
      pressureAcks.get(seq)?.();
      pressureAcks.delete(seq);
    },
    onMessage: (topic, payload) => {
      const t = parseTopic(topic);
      if (t?.kind !== 'cmd' || t.estate !== config.estate || t.gateway !== config.gateway) {
        log.warn({ topic }, 'message on an unexpected topic; ignored');
        return;
      }
      void commands.handle(t.device, payload);
    },
  });

  // The edge's own warnings (config `edge`): texts through the local gammu-smsd while the hub is away.
  const edge = config.edge
    ? createEdgeWarner({
        estate: config.estate,
        gateway: config.gateway,
        dataDir: config.dataDir,
        config: config.edge,
        // Silence counts too: on a half-open link (the hub's machine gone) the socket looks connected
        // until keepalive gives up, but nothing answers; a live hub answers at least every keepalive.
        hubAwayMs: () => {
          const silent = Date.now() - (uplink.stats().lastHubContact ?? startedAt);
          return uplink.connected() ? Math.max(0, silent - config.hub.keepaliveS * 1000) : silent;
        },
        deviceName: (id) => namesOf.get(id),
        log: log.child({ module: 'gateway.edge' }),
      })
    : undefined;

  const commands = createCommandExecutor({
    estate: config.estate,
    gateway: config.gateway,
    devices,
    log: commandLog,
    logger: log.child({ module: 'gateway.commands' }),
    publish: (topic, payload) => uplink.publish(topic, payload, DELIVERY['cmd/result']),
    maxDurationMs: config.commands.maxDurationMs,
    local: edge ? { 'gateway.duty.set': (args) => edge.setDuty(args as DutyList) } : {},
  });

  /** Stamp the envelope and keep the event; resolves once the outbox has it. */
  async function accept(device: string, draft: DraftEvent, seq = outbox.nextSeq()): Promise<AppendResult> {
    let event = stampEvent(config, device, draft, seq);
    if (edge?.wanted(event)) {
      // Texted before it is kept, so the kept event says who was told (gateway/edge.ts).
      const notice = await edge.warn(event).catch((err: unknown) => {
        log.error({ err, id: event.id }, 'edge warning failed');
        return undefined;
      });
      if (notice) event = { ...event, edge: notice };
    }
    const result = await outbox.append(event);
    pressure.observe(result);
    uplink.kick();
    // A device changed state: the hub gets the gateway status (state, error, info) now, not at the heartbeat.
    if (event.type === 'device.online' || event.type === 'device.offline') statusSoon ??= setTimeout(sendStatusSoon, 50);
    const cameras = camerasOf.get(device);
    if (cameras && result.stored && isAlarmEvent(event)) {
      snapshots.capture(event, cameras);
      video.alarm(event, cameras);
    }
    return result;
  }

  // Pressure events the monitor waits on until the hub has them (the uplink calls onAck per PUBACK).
  const pressureAcks = new Map<number, () => void>();
  const pressure = createPressureMonitor({
    outbox,
    log: log.child({ module: 'gateway.pressure' }),
    emit: async (data) => {
      const seq = outbox.nextSeq();
      const delivered = new Promise<void>((resolve) => pressureAcks.set(seq, resolve));
      await accept(config.gateway, { type: 'gateway.outbox.pressure', ts: Date.now(), data }, seq);
      return { delivered };
    },
    onChange: () => void uplink.publishStatus(status('heartbeat')),
    ...deps.pressure,
  });

  // Live video and alarm clips (docs/video.md): ffmpeg pulls a camera while watched, or all along when clips need it.
  const video = createGatewayVideo({
    config,
    version: VERSION,
    devices: () => [...devices].map(([id, d]) => [id, d.driver] as [string, Driver]),
    camerasOf,
    log,
  });

  // Local /metrics and /healthz (off unless metrics.port is set); it reads the same status as the hub gets.
  const observer = createGatewayObserver({ config, log: log.child({ module: 'gateway.observe' }), status: () => status('heartbeat'), uplink, video: () => video.relay?.stats() });

  /**
   * Start in order, stop in reverse (lib/service.ts). The hub link is two entries: it opens after the
   * devices and the push listener (a command re-delivered at connect finds its device running), and
   * closes last but the outbox, after the devices stopped, so what they reported is flushed and the
   * hub's last word from this gateway is the shutdown status.
   */
  const runner = createRunner(
    [
      service(
        'outbox',
        async () => {
          await outbox.start();
          commandLog.open();
        },
        async () => {
          await outbox.stop();
          commandLog.close();
        },
      ),
      service('hub-link.close', () => undefined, () => uplink.stop(status('shutdown', 'offline'))),
      service('edge', async () => edge?.start()),
      service('snapshots', () => snapshots.start(), () => snapshots.stop()),
      service(
        'devices',
        async () => {
          for (const device of config.devices) await startDevice(device);
        },
        async () => {
          for (const { driver } of [...devices.values()].reverse()) await driver.stop().catch(() => undefined);
        },
      ),
      // After the devices (it asks their drivers for streams), stopped before them: every ffmpeg child is reaped.
      service(
        'video',
        () => video.start(),
        () => video.stop(),
      ),
      service('device-push', () => push.start(), () => push.stop()),
      service('hub-link.open', () => uplink.start()),
      service(
        'heartbeat',
        () => {
          heartbeat = setInterval(() => void uplink.publishStatus(status('heartbeat')), config.heartbeatS * 1000);
          heartbeat.unref();
        },
        () => {
          if (heartbeat) clearInterval(heartbeat);
          clearTimeout(statusSoon);
          pressure.stop();
        },
      ),
      service('observer', () => observer.start(), () => observer.stop()),
      service(
        'started',
        () => {
          const o = outbox.stats();
          log.info({ estate: config.estate, gateway: config.gateway, devices: devices.size, push: push.address(), backlog: o.depth }, 'gateway started');
        },
      ),
    ],
    { log: log.child({ module: 'gateway.lifecycle' }) },
  );

  return {
    outbox,
    uplink,
    commands,
    video: video.relay,
    clips: video.clips,
    pushAddress: () => push.address(),
    status: () => status('heartbeat'),
    reload,
    start: () => runner.start(),
    async stop() {
      await runner.stop();
      log.info('gateway stopped');
    },
  };

  async function startDevice(device: GatewayConfig['devices'][number]): Promise<void> {
    const factory = driverRegistry.get(device.driver);
    if (!factory) throw new Error(`devices: unknown driver "${device.driver}"`); // config validation prevents this
    if (device.name) namesOf.set(device.id, device.name);
    else namesOf.delete(device.id);
    if (device.cameras?.length) camerasOf.set(device.id, device.cameras);
    else camerasOf.delete(device.id);
    const driver = factory.create({
      estate: config.estate,
      gateway: config.gateway,
      device: { id: device.id, driver: device.driver, name: device.name, options: device.options },
      options: factory.options.parse(device.options),
      log: log.child({ module: `driver.${device.driver}`, device: device.id }),
      hash,
      emit: async (draft) => {
        const r = await accept(device.id, draft);
        // A routine event refused at the cap is counted and reported; the device still gets its 200
        // (re-posting would not make room).
        if (!r.stored) log.debug({ device: device.id, reason: r.reason }, 'routine event dropped at the outbox cap');
      },
      routes: push.routes,
      meter: observer.meter(device.id),
    });
    devices.set(device.id, { driver, factory });
    await driver.start();
  }

  /**
   * Apply a re-read config (SIGHUP): devices added, removed or changed (driver, name, options,
   * cameras) are stopped and started afresh, the others keep running; keys outside `devices` need a
   * restart and are only reported. The hub hears the new device list at once.
   */
  async function reload(next: GatewayConfig): Promise<ReloadResult> {
    const result: ReloadResult = { added: [], removed: [], restarted: [], needsRestart: [] };
    for (const key of Object.keys(next) as Array<keyof GatewayConfig>) {
      if (key !== 'devices' && JSON.stringify(next[key]) !== JSON.stringify(current[key])) result.needsRestart.push(key);
    }
    const before = new Map(current.devices.map((d) => [d.id, d]));
    const after = new Map(next.devices.map((d) => [d.id, d]));
    const stopOne = async (id: string): Promise<void> => {
      const entry = devices.get(id);
      devices.delete(id);
      namesOf.delete(id);
      camerasOf.delete(id);
      await entry?.driver.stop().catch((err: unknown) => log.warn({ err, device: id }, 'driver did not stop cleanly'));
    };
    for (const [id] of before) {
      if (after.has(id)) continue;
      await stopOne(id);
      result.removed.push(id);
    }
    for (const [id, d] of after) {
      const old = before.get(id);
      if (old && JSON.stringify(old) === JSON.stringify(d)) continue;
      if (old) await stopOne(id);
      await startDevice(d);
      (old ? result.restarted : result.added).push(id);
    }
    current = { ...current, devices: next.devices };
    if (result.added.length || result.removed.length || result.restarted.length) video.devicesChanged();
    log.info(result, result.needsRestart.length ? `config reloaded; ${result.needsRestart.join(', ')} changed and need a restart` : 'config reloaded');
    void uplink.publishStatus(status('heartbeat'));
    return result;
  }
}

export interface ReloadResult {
  added: string[];
  removed: string[];
  restarted: string[];
  /** Top-level config keys that changed but only take effect after a restart. */
  needsRestart: string[];
}
