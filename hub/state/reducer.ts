import type { GatewayStatus, RbEvent } from '../../protocol/index.js';
import { HUB_GATEWAY } from '../../protocol/hub-events.js';
import { isOlder, markOf } from '../../protocol/order.js';
import { olderConnection } from '../bus.js';
import { dayKey } from './clock.js';
import type {
  ApplyResult,
  BarrierValue,
  CameraCondition,
  ChangeKind,
  DeviceState,
  DoorValue,
  EstateState,
  GatewayState,
  LiveState,
  StateInput,
  StateOptions,
} from './types.js';
import { barrierView, cameraView, deviceView, doorView, gatewayView, occupancyView } from './views.js';

/**
 * The live-state reducer. Deterministic: the result depends only on (state, input, now, options);
 * no clock, no timers, no I/O. It updates `state` in place (memory stays estates x devices) and
 * returns what changed plus the instants at which a device's hysteresis ends (`wake`); the caller
 * runs `tick` for that device then. The gateway's order (`event.seq`, protocol/order.ts) orders doors
 * and barriers: after an outage the alarm lane overtakes older routine events, and a `door.closed`
 * arriving after the `door.forced` it preceded must not show the door closed. Device times order
 * camera conditions (each condition's events share one outbox lane); hub time (`now`) drives
 * hysteresis.
 */
type Opts = Pick<StateOptions, 'offlineAfterMs' | 'onlineAfterMs' | 'timeZone' | 'maxEstates' | 'maxDevicesPerEstate'>;

class Out implements ApplyResult {
  changes: ApplyResult['changes'] = [];
  wake: ApplyResult['wake'] = [];
  constructor(private readonly now: number) {}
  add(es: EstateState, kind: ChangeKind, key: string, value: unknown): void {
    es.updatedAt = this.now;
    this.changes.push({ estate: es.estate, kind, key, value, ts: this.now });
  }
}

const DOOR: Partial<Record<RbEvent['type'], DoorValue>> = {
  'door.opened': 'open',
  'door.closed': 'closed',
  'door.forced': 'forced',
  'door.held': 'held',
};
const BARRIER: Partial<Record<RbEvent['type'], BarrierValue>> = {
  'barrier.opened': 'open',
  'barrier.closed': 'closed',
  'barrier.fault': 'fault',
};
const CAMERA: Partial<Record<RbEvent['type'], CameraCondition>> = {
  'camera.motion': 'motion',
  'camera.tamper': 'tamper',
  'camera.signalLoss': 'signalLoss',
};

/** Apply one bus message. */
export function apply(state: LiveState, input: StateInput, now: number, opts: Opts): ApplyResult {
  const out = new Out(now);
  const estateId = input.kind === 'event' ? input.event.estate : input.kind === 'status' ? input.status.estate : input.estate;
  const es = estateOf(state, estateId, now, opts);
  if (!es) return out;
  rollDay(es, now, opts, out);
  if (input.kind === 'event') onEvent(state, es, input.event, now, opts, out);
  else if (input.kind === 'status') onStatus(state, es, input.status, now, opts, out);
  else onConnection(es, input, now, opts, out);
  return out;
}

/**
 * Let time pass: end the hysteresis of one device whose wake time came (`target`), or of every
 * device, and start a new occupancy day where local midnight has passed.
 */
export function tick(state: LiveState, now: number, opts: Opts, target?: { estate: string; device: string }): ApplyResult {
  const out = new Out(now);
  if (target) {
    const es = state.estates.get(target.estate);
    const dev = es?.devices.get(target.device);
    if (es && dev) settle(es, dev, now, opts, out);
    return out;
  }
  for (const es of state.estates.values()) {
    rollDay(es, now, opts, out);
    for (const dev of es.devices.values()) settle(es, dev, now, opts, out);
  }
  return out;
}

function estateOf(state: LiveState, estate: string, now: number, opts: Opts): EstateState | undefined {
  let es = state.estates.get(estate);
  if (es) return es;
  if (state.estates.size >= opts.maxEstates) {
    state.refused++;
    return undefined;
  }
  es = {
    estate,
    gateways: new Map(),
    devices: new Map(),
    doors: new Map(),
    barriers: new Map(),
    cameras: new Map(),
    occupancy: { day: dayKey(now, opts.timeZone), count: 0, entered: 0, exited: 0 },
    updatedAt: now,
  };
  state.estates.set(estate, es);
  return es;
}

function deviceOf(state: LiveState, es: EstateState, gateway: string, device: string, now: number, opts: Opts): DeviceState | undefined {
  let dev = es.devices.get(device);
  if (dev) {
    dev.gateway = gateway;
    return dev;
  }
  if (es.devices.size >= opts.maxDevicesPerEstate) {
    state.refused++;
    return undefined;
  }
  dev = { device, gateway, online: null, since: now, observed: false, observedSince: now };
  es.devices.set(device, dev);
  return dev;
}

function gatewayOf(es: EstateState, gateway: string, now: number): GatewayState {
  let gw = es.gateways.get(gateway);
  if (!gw) {
    gw = { gateway, connected: false, connections: 0, state: 'offline', lastSeen: now };
    es.gateways.set(gateway, gw);
  }
  return gw;
}

/** What of a device's details a screen shows besides online/offline, to tell whether they changed. */
const detailsKey = (d: DeviceState): string => JSON.stringify([d.condition, d.error, d.info, d.warnings, d.cameras]);

/** Record an observation of a device; the declared state follows once the hysteresis allows. */
function observe(es: EstateState, dev: DeviceState, online: boolean, reason: string, now: number, opts: Opts, out: Out): void {
  if (!online) dev.reason = reason;
  if (dev.online === null) {
    // First word about the device: nothing to debounce against.
    dev.online = dev.observed = online;
    dev.since = dev.observedSince = now;
    out.add(es, 'device', dev.device, deviceView(dev));
    return;
  }
  if (dev.observed !== online) {
    dev.observed = online;
    dev.observedSince = now;
  }
  settle(es, dev, now, opts, out);
}

/** Declare the observed state if it has lasted long enough, else ask to be woken when it will have. */
function settle(es: EstateState, dev: DeviceState, now: number, opts: Opts, out: Out): void {
  if (dev.online === null || dev.online === dev.observed) return;
  const due = dev.observedSince + (dev.observed ? opts.onlineAfterMs : opts.offlineAfterMs);
  if (now < due) {
    out.wake.push({ estate: es.estate, device: dev.device, at: due });
    return;
  }
  dev.online = dev.observed;
  dev.since = dev.observedSince;
  out.add(es, 'device', dev.device, deviceView(dev));
}

function rollDay(es: EstateState, now: number, opts: Opts, out: Out): void {
  const today = dayKey(now, opts.timeZone);
  if (today <= es.occupancy.day) return;
  es.occupancy = { day: today, count: 0, entered: 0, exited: 0 };
  out.add(es, 'occupancy', es.estate, occupancyView(es.occupancy));
}

function onEvent(state: LiveState, es: EstateState, e: RbEvent, now: number, opts: Opts, out: Out): void {
  // The hub's own events (a missed patrol checkpoint) are about no device of a gateway.
  if (e.gateway === HUB_GATEWAY) return;
  if (e.type === 'gateway.outbox.pressure') {
    const gw = gatewayOf(es, e.gateway, now);
    const d = e.data;
    gw.outbox = { ...gw.outbox, depth: d.depth, bytes: d.bytes, pressure: true, droppedTotal: d.droppedTotal, droppedSinceStart: d.droppedSinceStart };
    out.add(es, 'gateway', gw.gateway, gatewayView(gw));
    return;
  }
  const dev = deviceOf(state, es, e.gateway, e.device, now, opts);
  if (!dev) return;
  if (e.type === 'device.offline' || e.type === 'device.online') {
    const condition = e.type === 'device.offline' && e.data.state === 'auth-failed' ? 'auth-failed' : undefined;
    if (condition !== dev.condition) {
      dev.condition = condition;
      if (e.type === 'device.offline') dev.error = e.data.reason;
      out.add(es, 'device', dev.device, deviceView(dev));
    }
  }
  if (e.type === 'device.offline') observe(es, dev, false, e.data.reason ?? 'device.offline', now, opts, out);
  else if (e.ts >= now - opts.offlineAfterMs) {
    // A fresh event proves the device is up; a replayed old one proves nothing about now.
    dev.lastSeen = Math.max(dev.lastSeen ?? 0, Math.min(e.ts, now));
    observe(es, dev, true, '', now, opts, out);
  } else if (e.type === 'device.online') observe(es, dev, true, '', now, opts, out);

  const door = DOOR[e.type];
  if (door) return onDoor(es, e as RbEvent & { data: { door: number; heldS?: number } }, door, out);
  const barrier = BARRIER[e.type];
  if (barrier) return onBarrier(es, e as RbEvent & { data: { lane?: number; reason?: string } }, barrier, out);
  const cond = CAMERA[e.type];
  if (cond) return onCamera(es, e as RbEvent & { data: { state: boolean } }, cond, out);
  if (e.type === 'vehicle.entered' || e.type === 'vehicle.exited') onVehicle(es, e.type === 'vehicle.entered', e.ts, opts, out);
}

function onDoor(es: EstateState, e: RbEvent & { data: { door: number; heldS?: number } }, next: DoorValue, out: Out): void {
  const key = `${e.device}/${e.data.door}`;
  const cur = es.doors.get(key);
  if (cur && isOlder(cur.mark, e)) return;
  const heldS = next === 'held' ? e.data.heldS : undefined;
  if (cur && cur.state === next) {
    cur.ts = e.ts;
    cur.heldS = heldS;
    cur.mark = markOf(e);
    return;
  }
  const door = { device: e.device, door: e.data.door, state: next, since: e.ts, ts: e.ts, heldS, mark: markOf(e) };
  es.doors.set(key, door);
  out.add(es, 'door', key, doorView(door));
}

function onBarrier(es: EstateState, e: RbEvent & { data: { lane?: number; reason?: string } }, next: BarrierValue, out: Out): void {
  const lane = e.data.lane ?? 1;
  const key = `${e.device}/${lane}`;
  const cur = es.barriers.get(key);
  if (cur && isOlder(cur.mark, e)) return;
  const reason = next === 'fault' ? e.data.reason : undefined;
  if (cur && cur.state === next && cur.reason === reason) {
    cur.ts = e.ts;
    cur.mark = markOf(e);
    return;
  }
  const b = { device: e.device, lane, state: next, since: cur?.state === next ? cur.since : e.ts, ts: e.ts, reason, mark: markOf(e) };
  es.barriers.set(key, b);
  out.add(es, 'barrier', key, barrierView(b));
}

function onCamera(es: EstateState, e: RbEvent & { data: { state: boolean } }, cond: CameraCondition, out: Out): void {
  let cam = es.cameras.get(e.device);
  if (!cam) es.cameras.set(e.device, (cam = { device: e.device, motion: false, tamper: false, signalLoss: false, ts: {}, since: {} }));
  if ((cam.ts[cond] ?? -Infinity) > e.ts) return;
  cam.ts[cond] = e.ts;
  if (cam[cond] === e.data.state) return;
  cam[cond] = e.data.state;
  cam.since[cond] = e.ts;
  out.add(es, 'camera', e.device, cameraView(cam));
}

function onVehicle(es: EstateState, entered: boolean, ts: number, opts: Opts, out: Out): void {
  const occ = es.occupancy;
  // Yesterday's movements (replayed after an outage) do not count towards today.
  if (dayKey(ts, opts.timeZone) < occ.day) return;
  if (entered) {
    occ.entered++;
    occ.count++;
  } else {
    occ.exited++;
    occ.count = Math.max(0, occ.count - 1); // a car that came in yesterday (or unseen) leaving
  }
  out.add(es, 'occupancy', es.estate, occupancyView(occ));
}

function onStatus(state: LiveState, es: EstateState, s: GatewayStatus, now: number, opts: Opts, out: Out): void {
  const gw = gatewayOf(es, s.gateway, now);
  if (s.reason === 'lwt' && gw.conn?.since !== undefined) {
    // A Last Will speaks for the connection that sent it, and its `ts` is when the gateway opened that
    // connection: older than the latest connection's, it is an old connection's will (the gateway moved
    // to another node, or took over its own session), however late it arrives.
    if (s.ts < gw.conn.since) return;
  } else if (gw.statusTs !== undefined && s.ts < gw.statusTs) return; // an older status arriving late
  Object.assign(gw, {
    state: s.state,
    reason: s.reason,
    statusTs: Math.max(s.ts, gw.statusTs ?? 0),
    lastSeen: now,
    ...(s.version !== undefined ? { version: s.version } : {}),
    ...(s.uptimeS !== undefined ? { uptimeS: s.uptimeS } : {}),
    ...(s.lastHubContact !== undefined ? { lastHubContact: s.lastHubContact } : {}),
    ...(s.reconnects !== undefined ? { reconnects: s.reconnects } : {}),
    ...(s.outbox ? { outbox: { ...s.outbox } } : {}),
  });
  // The will is the end of its connection, also when that node died and no disconnect is logged.
  if (s.reason === 'lwt') {
    gw.connected = false;
    gw.connections = 0;
  }
  out.add(es, 'gateway', gw.gateway, gatewayView(gw));
  if (s.state === 'offline') return gatewayDown(es, gw.gateway, now, opts, out);
  for (const [id, health] of Object.entries(s.devices ?? {})) {
    const dev = deviceOf(state, es, s.gateway, id, now, opts);
    if (!dev) continue;
    if (health.lastSeen !== undefined) dev.lastSeen = Math.max(dev.lastSeen ?? 0, health.lastSeen);
    if (health.name !== undefined) dev.name = health.name;
    if (health.kind !== undefined) dev.kind = health.kind;
    const before = detailsKey(dev);
    dev.condition = health.state === 'auth-failed' ? 'auth-failed' : undefined;
    dev.error = health.error;
    if (health.info !== undefined) dev.info = health.info;
    dev.warnings = health.warnings;
    dev.cameras = health.cameras;
    const shown = dev.online;
    observe(es, dev, health.online, health.state === 'auth-failed' ? 'auth-failed' : 'status', now, opts, out);
    // Details are news of their own (auth-failed, a warning, the firmware), hysteresis or not.
    if (detailsKey(dev) !== before && shown === dev.online) out.add(es, 'device', dev.device, deviceView(dev));
  }
}

/** The gateway is gone: its devices cannot be reached (subject to the same hysteresis). */
function gatewayDown(es: EstateState, gateway: string, now: number, opts: Opts, out: Out): void {
  for (const dev of es.devices.values()) if (dev.gateway === gateway) observe(es, dev, false, 'gateway-offline', now, opts, out);
}

function onConnection(es: EstateState, c: Extract<StateInput, { kind: 'connection' }>, now: number, opts: Opts, out: Out): void {
  const { gateway, connected } = c;
  const gw = gatewayOf(es, gateway, now);
  if (c.at !== undefined) {
    // The latest connection alone says whether the gateway is connected: the end of an older one (it
    // moved to another node, whose connect may be logged first) changes nothing. Judged by the
    // connection's own key, not by log order (hub/broker/sessions.ts).
    const key = { ...(c.since !== undefined ? { since: c.since } : {}), at: c.at };
    if (gw.conn && olderConnection(key, gw.conn)) return;
    gw.conn = key;
    gw.connections = connected ? 1 : 0;
  } else {
    // Entries logged before connections had a key: a reconnect can report the new connection before
    // the old one's end, so count them.
    gw.connections = Math.max(0, gw.connections + (connected ? 1 : -1));
  }
  const was = gw.connected;
  gw.connected = gw.connections > 0;
  gw.lastSeen = now;
  if (was === gw.connected) return;
  if (!gw.connected && gw.state === 'online') {
    // Gone without a shutdown status: the broker publishes its Last Will.
    gw.state = 'offline';
    gw.reason = 'lwt';
  }
  out.add(es, 'gateway', gateway, gatewayView(gw));
  if (!gw.connected) gatewayDown(es, gateway, now, opts, out);
}
