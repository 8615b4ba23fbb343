import { COMMANDS, TS_MAX, TS_MIN } from '../../protocol/index.js';
import {
  DeviceCommandError,
  type DeviceHealth,
  type DeviceInfo,
  type DeviceState,
  type DeviceWarning,
  type DraftEvent,
  type Driver,
  type DriverCommand,
  type DriverContext,
  type DriverFactory,
  type VideoSource,
} from '../types.js';
import { OnvifOptions } from './options.js';
import { PullPacer } from './pacing.js';
import { onvifCameraProfile } from './profile.js';
import { OnvifSession, type Notification } from './session.js';
import { OnvifError } from './soap-client.js';
import { createStreamLister } from './streams.js';

/**
 * ONVIF Profile S cameras, polled: the driver speaks SOAP 1.2 itself (soap-client.ts, session.ts).
 * Start: GetSystemDateAndTime (clock offset for every UsernameToken), GetServices/GetCapabilities
 * (service addresses), GetProfiles (first profile), CreatePullPointSubscription; then a pull loop
 * (PullMessages with Timeout, Renew before the end, paced when the device answers early: pacing.ts)
 * turns notifications into camera.* events, and a health poll with hysteresis emits device.offline /
 * device.online. Live video: `streams()` lists the main and sub RTSP addresses (streams.ts).
 *
 * Health means usable: GetSystemDateAndTime needs no login (Core Spec, access class PRE_AUTH) and GetServices /
 * GetCapabilities often need none either, so a camera refusing our credentials used to look online.
 * Every poll therefore ends with GetDeviceInformation, which needs a login (READ_SYSTEM class); a
 * refusal puts the device in `auth-failed` at once (the clock was synced just before, so it is not a
 * stale token), and the same answer gives make, model and firmware.
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
  state: DeviceState;
  /** PullMessages answered, and of those answered early with nothing (the pacer waited after them). */
  pulls: number;
  earlyPulls: number;
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
  streams(signal: AbortSignal): Promise<VideoSource[]>;
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
  const session = new OnvifSession(o, ctx.meter);
  const stopping = new AbortController();
  const counts = { events: 0, ignored: 0, pullErrors: 0, pulls: 0 };
  const pacer = new PullPacer({ requestedMs: o.pullTimeoutS * 1000 });
  let running = false;
  let connected = false;
  let everConnected = false;
  let state: DeviceState = 'offline';
  let info: DeviceInfo | undefined;
  let warning: DeviceWarning | undefined;
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

  /** GetDeviceInformation: proves the credentials work; keeps make, model and firmware. */
  async function identify(): Promise<void> {
    const got = await session.deviceInformation(stopping.signal);
    if (JSON.stringify(got) !== JSON.stringify(info)) log.info({ ...got }, 'onvif device information');
    info = got;
  }

  async function connect(): Promise<void> {
    await session.syncClock(stopping.signal);
    await identify();
    await session.discoverServices(stopping.signal);
    await session.loadProfile(stopping.signal);
    connected = true;
    log.info({ clockOffsetMs: session.clockOffsetMs, xaddr: session.xaddr, profile: session.profileToken }, 'onvif session ready');
  }

  async function tryConnect(): Promise<boolean> {
    try {
      await connect();
      everConnected = true;
      return true;
    } catch (err) {
      if (isAuth(err)) await authFailed(err);
      // A camera that is not up yet when the gateway starts (a power cut brings both back, the camera
      // boots slower) is no fault: say calmly that we retry, once. The health poll does the retrying.
      else if (!everConnected && err instanceof OnvifError && (err.kind === 'network' || err.kind === 'timeout')) {
        log.warn({ address: o.address, err: note(err) }, `camera not reachable yet; retrying every ${o.pollMs / 1000} s`);
      } else log.warn({ err: note(err) }, 'onvif session setup failed');
      return false;
    }
  }

  const isAuth = (err: unknown): boolean => err instanceof OnvifError && err.kind === 'auth';

  /** The device answers but refuses the configured credentials: its own state, reported at once. */
  async function authFailed(err: unknown): Promise<void> {
    const reason = note(err).slice(0, 200);
    [fails, oks] = [0, 0];
    connected = false;
    sub = undefined;
    if (state === 'auth-failed') return;
    state = 'auth-failed';
    log.error({ err: reason }, `onvif device ${ctx.device.id} refuses the configured credentials: check devices[${ctx.device.id}].options.username / password, then reload the gateway`);
    await emit({ type: 'device.offline', ts: Date.now(), data: { reason, state: 'auth-failed' } });
  }

  async function emit(draft: DraftEvent): Promise<void> {
    try {
      await ctx.emit(draft);
    } catch (err) {
      log.warn({ err, type: draft.type }, 'gateway did not accept the event');
    }
  }

  /**
   * One health poll: the clock (no login), then GetDeviceInformation (login). offline ⇄ online only
   * after `offlineAfterFails` / `onlineAfterOks` in a row; a refused login is `auth-failed` at once,
   * and working credentials end it at once.
   */
  async function poll(): Promise<void> {
    try {
      await session.syncClock(stopping.signal);
      lastSeen = Date.now();
      await identify();
      [fails, oks] = [0, oks + 1];
      if (state !== 'online' && (state === 'auth-failed' || oks >= o.onlineAfterOks)) {
        log.info({ was: state }, 'onvif device online');
        state = 'online';
        lastError = undefined;
        await emit({ type: 'device.online', ts: Date.now(), data: {} });
      }
      if (!connected) await tryConnect();
    } catch (err) {
      if (!running) return;
      if (isAuth(err)) return authFailed(err);
      [fails, oks] = [fails + 1, 0];
      const reason = note(err).slice(0, 200);
      if (state !== 'offline' && fails >= o.offlineAfterFails) {
        state = 'offline';
        sub = undefined; // the device may have rebooted: subscribe afresh when it is back
        log.warn({ reason }, 'onvif device offline');
        await emit({ type: 'device.offline', ts: Date.now(), data: { reason, state: 'offline' } });
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
    const started = Date.now();
    const messages = await session.pull(sub.address, stopping.signal);
    counts.pulls += 1;
    const early = pacer.early;
    const pace = pacer.record({ elapsedMs: Date.now() - started, messages: messages.length });
    if (pacer.early > early) ctx.meter?.misbehaved?.('pull-early');
    if (pace.change === 'raised') {
      const message = `answers PullMessages at once instead of holding it up to ${o.pullTimeoutS} s; pulls paced to at most 1/s`;
      warning = { code: 'pull-early', message, since: Date.now() };
      log.warn({ earlyPulls: pacer.early }, `onvif device ${message} (camera firmware does not follow ONVIF Core §9.2)`);
    } else if (pace.change === 'cleared') {
      warning = undefined;
      log.info('onvif device holds PullMessages again; pacing ended');
    }
    for (const n of messages) {
      const draft = mapNotification(n, session.clockOffsetMs);
      if (typeof draft === 'string') {
        counts.ignored += 1;
        log.debug({ topic: n.topic, why: draft }, 'onvif notification not reported');
        continue;
      }
      counts.events += 1;
      await emit(draft);
    }
    if (pace.waitMs > 0) await sleep(pace.waitMs);
  }

  async function pullLoop(): Promise<void> {
    let backoff = 200;
    while (running) {
      if (!connected || state !== 'online') {
        await sleep(Math.min(o.pollMs, 1_000));
        continue;
      }
      try {
        await pullOnce();
        backoff = 200;
      } catch (err) {
        if (!running) return;
        counts.pullErrors += 1;
        // The pull point refused our login (the password was changed on the camera): that is the
        // device's state, not a pull-point problem; the health poll ends it when the login works.
        if (isAuth(err)) {
          await authFailed(err);
          continue;
        }
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

  /**
   * One exchange with the device for a command or the stream list: connects first if need be; a
   * refused token may be a clock that moved, so resync once and try again (Core Spec §5.12). Fails
   * as DeviceCommandError (timeout, or failed with the device's reason).
   */
  async function onDevice<T>(callerSignal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = AbortSignal.any([callerSignal, stopping.signal]);
    const attempt = async (): Promise<T> => {
      if (!connected && !(await tryConnect())) throw new OnvifError('network', lastError ?? 'device not reachable');
      return await work(signal);
    };
    try {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof OnvifError && err.kind === 'auth' && connected)) throw err;
        await session.syncClock(signal);
        return await attempt();
      }
    } catch (err) {
      if (err instanceof DeviceCommandError) throw err;
      const timeout = err instanceof OnvifError && (err.kind === 'timeout' || err.kind === 'aborted');
      throw new DeviceCommandError(timeout ? 'RB_ERR_DEVICE_TIMEOUT' : 'RB_ERR_DEVICE_FAILED', note(err));
    }
  }

  const listStreams = createStreamLister({
    profiles: (signal) => session.profiles(signal),
    streamUri: (token, signal) => session.streamUri(token, signal),
    hasPtz: () => session.xaddr.ptz !== '',
    presets: async (signal) => {
      try {
        return await session.presets(signal);
      } catch (err) {
        log.debug({ err: err instanceof Error ? err.message : String(err) }, 'onvif GetPresets failed; the camera is listed without presets');
        return [];
      }
    },
    username: o.username,
    password: o.password,
  });

  return {
    async start() {
      running = true;
      if (await tryConnect()) {
        state = 'online';
        lastSeen = Date.now();
      }
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
      if (address && state === 'online') await session.unsubscribe(address).catch(() => undefined);
    },
    health: (): DeviceHealth => ({
      online: state === 'online',
      state,
      lastSeen,
      ...(state !== 'online' && lastError ? { error: lastError.slice(0, 200) } : {}),
      ...(info ? { info } : {}),
      ...(warning ? { warnings: [warning] } : {}),
    }),
    execute: (c) => onDevice(c.signal, (signal) => run(c, signal)),
    // GetProfiles + GetStreamUri (+ GetPresets with PTZ), asked again at most once a minute (streams.ts).
    streams: (signal) => onDevice(signal, listStreams),
    stats: () => ({ ...counts, earlyPulls: pacer.early, online: state === 'online', state, connected, subscribed: sub !== undefined, clockOffsetMs: session.clockOffsetMs, lastError }),
  };
}

export const onvifDriverFactory: DriverFactory<typeof OnvifOptions> = {
  name: DRIVER_NAME,
  kind: 'onvif-camera',
  options: OnvifOptions,
  profile: onvifCameraProfile,
  create: (ctx) => createOnvifDriver(ctx),
};
