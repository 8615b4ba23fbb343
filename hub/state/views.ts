import type { EstateStateView } from '../../protocol/api.js';
import type { BarrierState, CameraState, DeviceState, DoorState, EstateState, GatewayState, LiveState, OccupancyState } from './types.js';

/**
 * The public (JSON) shape of each part of the live state: plain copies, so a value handed to push or
 * REST never changes under its reader.
 */
export const gatewayView = (g: GatewayState) => ({
  gateway: g.gateway,
  online: g.connected && g.state === 'online',
  connected: g.connected,
  state: g.state,
  reason: g.reason,
  version: g.version,
  uptimeS: g.uptimeS,
  outbox: g.outbox ? { ...g.outbox } : undefined,
  lastHubContact: g.lastHubContact,
  reconnects: g.reconnects,
  statusTs: g.statusTs,
  lastSeen: g.lastSeen,
});

export const deviceView = (d: DeviceState) => ({
  device: d.device,
  gateway: d.gateway,
  name: d.name,
  kind: d.kind,
  online: d.online,
  since: d.since,
  lastSeen: d.lastSeen,
  reason: d.online === false ? d.reason : undefined,
  condition: d.condition,
  error: d.condition || d.online === false ? d.error : undefined,
  info: d.info,
  warnings: d.warnings?.length ? d.warnings : undefined,
  cameras: d.cameras?.length ? d.cameras : undefined,
  /** The observation waiting out its hysteresis, if any. */
  pending: d.online !== null && d.observed !== d.online ? { online: d.observed, since: d.observedSince } : undefined,
});

export const doorView = ({ mark: _m, ...d }: DoorState) => d;
export const barrierView = ({ mark: _m, ...b }: BarrierState) => b;
export const cameraView = (c: CameraState) => ({
  device: c.device,
  motion: c.motion,
  tamper: c.tamper,
  signalLoss: c.signalLoss,
  since: { ...c.since },
});
export const occupancyView = (o: OccupancyState) => ({ ...o });

const values = <T, V>(m: Map<string, T>, view: (t: T) => V): V[] => [...m.values()].map(view);

/** Everything known about one estate. */
/** The view of an estate the hub knows but has heard nothing from yet (no gateway reported). */
export function emptyEstateView(estate: string) {
  return estateView({
    estate, gateways: new Map(), devices: new Map(), doors: new Map(), barriers: new Map(), cameras: new Map(),
    occupancy: { day: '', count: 0, entered: 0, exited: 0 }, updatedAt: 0,
  });
}

export function estateView(es: EstateState) {
  const view = {
    estate: es.estate,
    updatedAt: es.updatedAt,
    summary: summaryOf(es),
    gateways: values(es.gateways, gatewayView),
    devices: values(es.devices, deviceView),
    doors: values(es.doors, doorView),
    barriers: values(es.barriers, barrierView),
    cameras: values(es.cameras, cameraView),
    occupancy: occupancyView(es.occupancy),
  };
  // The screens read this as protocol/api.ts EstateStateView (GET /api/v1/estates/:id/state); extra fields are fine.
  return view satisfies EstateStateView;
}

/** The counts a street-level overview shows for one estate. */
export function summaryOf(es: EstateState) {
  let gwOnline = 0;
  let pressure = false;
  for (const g of es.gateways.values()) {
    if (g.connected && g.state === 'online') gwOnline++;
    if (g.outbox?.pressure) pressure = true;
  }
  let offline = 0;
  for (const d of es.devices.values()) if (d.online === false) offline++;
  let open = 0;
  let forced = 0;
  let held = 0;
  for (const d of es.doors.values()) {
    if (d.state === 'open') open++;
    else if (d.state === 'forced') forced++;
    else if (d.state === 'held') held++;
  }
  let barrierFaults = 0;
  for (const b of es.barriers.values()) if (b.state === 'fault') barrierFaults++;
  return {
    estate: es.estate,
    gateways: { online: gwOnline, total: es.gateways.size },
    devices: { offline, total: es.devices.size },
    doors: { open, forced, held },
    barrierFaults,
    occupancy: es.occupancy.count,
    pressure,
    updatedAt: es.updatedAt,
  };
}

/** One device with everything hanging off it (doors, lanes, camera conditions). */
export function deviceDetail(es: EstateState, device: string) {
  const d = es.devices.get(device);
  if (!d) return undefined;
  const cam = es.cameras.get(device);
  return {
    estate: es.estate,
    ...deviceView(d),
    doors: [...es.doors.values()].filter((x) => x.device === device).map(doorView),
    barriers: [...es.barriers.values()].filter((x) => x.device === device).map(barrierView),
    camera: cam ? cameraView(cam) : undefined,
  };
}

export const summaries = (state: LiveState) => [...state.estates.values()].map(summaryOf);
