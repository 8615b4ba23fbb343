import { COMMANDS, TS_MAX, TS_MIN } from '../../protocol/index.js';
import { DeviceCommandError, type DeviceHealth, type DraftEvent, type Driver, type DriverCommand, type DriverContext, type DriverFactory } from '../types.js';
import { OnvifOptions } from './options.js';
import { onvifCameraProfile } from './profile.js';
import { OnvifSession, type Notification } from './session.js';
import { OnvifError } from './soap-client.js';

/**
 * ONVIF Profile S cameras, polled: the driver speaks SOAP 1.2 itself (soap-client.ts, session.ts).
 * Start: GetSystemDateAndTime (clock offset for every UsernameToken), GetServices/GetCapabilities
 * (service addresses), GetProfiles (first profile), CreatePullPointSubscription; then a pull loop
 * (PullMessages with Timeout, Renew before the end) turns notifications into camera.* events, and a
 * health poll (GetSystemDateAndTime) with hysteresis emits device.offline / device.online.
 */
export const DRIVER_NAME = 'onvif';
export { OnvifOptions };

/** Topics we report, after dropping namespace prefixes (ONVIF topic sets: Analytics and Core specs). */
const TOPICS: ReadonlyMap<string, { type: 'camera.motion' | 'camera.tamper' | 'camera.signalLoss'; item: string }> = new Map([
  ['RuleEngine/CellMotionDetector/Motion', { type: 'camera.motion', item: 'IsMotion' }],
  ['VideoSource/MotionAlarm', { type: 'camera.motion', item: 'State' }],
  ['RuleEngine/TamperDetector/Tamper', { type: 'camera.tamper', item: 'IsTamper' }],
  ['VideoSource/SignalLoss', { type: 'camera.signalLoss', item: 'State' }],
] as const);

export interface OnvifStats {
  online: boolean;
  /** Session set up (clock, services, profile). */
  connected: boolean;
  subscribed: boolean;
  clockOffsetMs: number;
  events: number;
  ignored: number;
  pullErrors: number;
  lastError: string | undefined;
}

export interface OnvifDriver extends Driver {
  execute(command: DriverCommand): Promise<Record<string, unknown>>;
  stats(): OnvifStats;
}

const boolOf = (v: string | undefined): boolean | undefined => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : undefined);

/** A notification → a draft, or why not. Pure; `offsetMs` moves device time onto ours. */
export function mapNotification(n: Notification, offsetMs: number, now = Date.now()): DraftEvent | string {
  const key = n.topic.split('/').map((s) => s.slice(s.indexOf(':') + 1)).join('/');
  const entry = TOPICS.get(key);
  if (!entry) return `topic ${n.topic} not reported`;
  const state = boolOf(n.data.get(entry.item));
  if (state === undefined) return `${entry.item} missing or not a boolean`;
  // Initialized = the state when the subscription began (Core Spec §9.3 property events): only an
  // ongoing condition is news.
  if (n.operation === 'Initialized' && !state) return 'initial state false';
  const ts = n.at !== undefined ? n.at - offsetMs : now;
  const rule = n.source.get('Rule') ?? n.data.get('Rule');
  const data = { state, ...(rule ? { rule: rule.slice(0, 100) } : {}), source: { vendor: 'onvif', topic: n.topic } };
  return { type: entry.type, ts: ts >= TS_MIN && ts <= TS_MAX ? Math.round(ts) : now, data };
}

export function createOnvifDriver(ctx: DriverContext<OnvifOptions>): OnvifDriver {
  const { log, options: o } = ctx;
  const session = new OnvifSession(o);
  const stopping = new AbortController();
  const counts = { events: 0, ignored: 0, pullErrors: 0 };
  let running = false;
  let connected = false;
  let online = false;
  let fails = 0;
  let oks = 0;
  let lastSeen: number | undefined;
  let lastError: string | undefined;
  let sub: { address: string; expiresAt: number } | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let loop: Promise<void> | undefined;
  // The abort listener is removed when the timer fires: the pull and poll loops sleep forever, and a
  // listener left behind per sleep would pile up on the one `stopping` signal (a leak).
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        stopping.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      stopping.signal.addEventListener('abort', done, { once: true });
    });
  const note = (err: unknown): string => (lastError = err instanceof Error ? err.message : String(err));

  async function connect(): Promise<void> {
    await session.syncClock(stopping.signal);
    await session.discoverServices(stopping.signal);
    await session.loadProfile(stopping.signal);
    connected = true;
    log.info({ clockOffsetMs: session.clockOffsetMs, xaddr: session.xaddr, profile: session.profileToken }, 'onvif session ready');
  }

  async function tryConnect(): Promise<boolean> {
    try {
      await connect();
      return true;
    } catch (err) {
      const auth = err instanceof OnvifError && err.kind === 'auth';
      log[auth ? 'error' : 'warn']({ err: note(err) }, auth ? 'onvif device refused the credentials' : 'onvif session setup failed');
      return false;
    }
  }

  async function emit(draft: DraftEvent): Promise<void> {
    try {
      await ctx.emit(draft);
    } catch (err) {
      log.warn({ err, type: draft.type }, 'gateway did not accept the event');
    }
  }

  /** One health poll; transitions only after `offlineAfterFails` / `onlineAfterOks` in a row. */
  async function poll(): Promise<void> {
    try {
      await session.syncClock(stopping.signal);
      lastSeen = Date.now();
      [fails, oks] = [0, oks + 1];
      if (!online && oks >= o.onlineAfterOks) {
        online = true;
        log.info('onvif device back online');
        await emit({ type: 'device.online', ts: Date.now(), data: {} });
      }
      if (!connected) await tryConnect();
    } catch (err) {
      if (!running) return;
      [fails, oks] = [fails + 1, 0];
      const reason = note(err).slice(0, 200);
      if (online && fails >= o.offlineAfterFails) {
        online = false;
        sub = undefined; // the device may have rebooted: subscribe afresh when it is back
        log.warn({ reason }, 'onvif device offline');
        await emit({ type: 'device.offline', ts: Date.now(), data: { reason } });
      }
    }
  }

  function schedulePoll(): void {
    pollTimer = setTimeout(() => void poll().finally(() => running && schedulePoll()), o.pollMs);
  }

  async function pullOnce(): Promise<void> {
    sub ??= await session.subscribe(stopping.signal);
    // Renew while at least one more full pull fits before the end (WS-BaseNotification Renew).
    if (sub.expiresAt - Date.now() < o.pullTimeoutS * 1000 + o.requestTimeoutMs + 2_000) {
      sub.expiresAt = await session.renew(sub.address, stopping.signal);
    }
    for (const n of await session.pull(sub.address, stopping.signal)) {
      const draft = mapNotification(n, session.clockOffsetMs);
      if (typeof draft === 'string') {
        counts.ignored += 1;
        log.debug({ topic: n.topic, why: draft }, 'onvif notification not reported');
        continue;
      }
      counts.events += 1;
      await emit(draft);
    }
  }

  async function pullLoop(): Promise<void> {
    let backoff = 200;
    while (running) {
      if (!connected || !online) {
        await sleep(Math.min(o.pollMs, 1_000));
        continue;
      }
      try {
        await pullOnce();
        backoff = 200;
      } catch (err) {
        if (!running) return;
        counts.pullErrors += 1;
        log.warn({ err: note(err) }, 'onvif pull failed; subscribing again');
        sub = undefined; // unknown/expired pull point, garbage or network: start a fresh one
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  async function run(c: DriverCommand, signal: AbortSignal): Promise<Record<string, unknown>> {
    switch (c.name) {
      case 'ptz.move': {
        const a = COMMANDS['ptz.move'].parse(c.args);
        await session.continuousMove(a, signal);
        return { ...a };
      }
      case 'ptz.stop':
        await session.stop(signal);
        return {};
      case 'ptz.preset':
        return { preset: await session.gotoPreset(COMMANDS['ptz.preset'].parse(c.args).preset, signal) };
      case 'camera.snapshot': {
        const s = await session.snapshot(signal);
        return { bytes: s.jpeg.toString('base64'), encoding: 'base64', size: s.jpeg.length, sha256: s.sha256, contentType: s.contentType };
      }
      default:
        throw new DeviceCommandError('RB_ERR_DEVICE_FAILED', `command ${c.name} is not an ONVIF camera command`);
    }
  }

  return {
    async start() {
      running = true;
      online = await tryConnect();
      if (online) lastSeen = Date.now();
      if (connected) {
        try {
          sub = await session.subscribe(stopping.signal);
        } catch (err) {
          log.warn({ err: note(err) }, 'onvif pull-point subscription failed; the pull loop retries');
        }
      }
      schedulePoll();
      loop = pullLoop();
    },
    async stop() {
      running = false;
      clearTimeout(pollTimer);
      stopping.abort();
      await loop;
      const address = sub?.address;
      sub = undefined;
      if (address && online) await session.unsubscribe(address).catch(() => undefined);
    },
    health: (): DeviceHealth => ({ online, lastSeen }),
    async execute(c) {
      const signal = AbortSignal.any([c.signal, stopping.signal]);
      const attempt = async (): Promise<Record<string, unknown>> => {
        if (!connected && !(await tryConnect())) throw new OnvifError('network', lastError ?? 'device not reachable');
        return await run(c, signal);
      };
      try {
        try {
          return await attempt();
        } catch (err) {
          // A refused token may be a clock that moved: resync once and try again (Core Spec §5.12).
          if (!(err instanceof OnvifError && err.kind === 'auth' && connected)) throw err;
          await session.syncClock(signal);
          return await attempt();
        }
      } catch (err) {
        if (err instanceof DeviceCommandError) throw err;
        const timeout = err instanceof OnvifError && (err.kind === 'timeout' || err.kind === 'aborted');
        throw new DeviceCommandError(timeout ? 'RB_ERR_DEVICE_TIMEOUT' : 'RB_ERR_DEVICE_FAILED', note(err));
      }
    },
    stats: () => ({ ...counts, online, connected, subscribed: sub !== undefined, clockOffsetMs: session.clockOffsetMs, lastError }),
  };
}

export const onvifDriverFactory: DriverFactory<typeof OnvifOptions> = {
  name: DRIVER_NAME,
  kind: 'onvif-camera',
  options: OnvifOptions,
  profile: onvifCameraProfile,
  create: (ctx) => createOnvifDriver(ctx),
};
