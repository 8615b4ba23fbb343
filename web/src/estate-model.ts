import { eventDetail as labelEventDetail } from './labels.js';
import type { BarrierView, CameraView, DeviceView, DoorView, EstateStateView, RbEvent, StateChange } from './types.js';

/** One tile of the command-center screen: a device with everything the live state knows of it. */
export interface Tile {
  id: string;
  /** The configured name (e.g. 东门), when the gateway gave one. */
  name?: string;
  kind: 'gate' | 'barrier' | 'camera' | 'device';
  online: boolean | null;
  /** 'auth-failed': reachable but refusing the gateway's credentials; an installer must fix the config. */
  condition?: 'auth-failed';
  /** "Hikvision DS-2CD2T47 · V5.7.3", when the device told the gateway. */
  model?: string;
  /** Codes of the misbehaviour the gateway works around (e.g. pull-early). */
  warnings: string[];
  doors: DoorView[];
  barriers: BarrierView[];
  camera?: CameraView;
  /** Worst condition: drives the tile's colour. */
  level: 'ok' | 'warn' | 'alarm' | 'off';
}

export const emptyState = (estate: string): EstateStateView => ({
  estate,
  updatedAt: 0,
  gateways: [],
  devices: [],
  doors: [],
  barriers: [],
  cameras: [],
  occupancy: { day: '', count: 0, entered: 0, exited: 0 },
});

function put<T>(list: T[], value: T, same: (x: T) => boolean): T[] {
  const i = list.findIndex(same);
  if (i < 0) return [...list, value];
  const next = list.slice();
  next[i] = value;
  return next;
}

/** Apply one `device:state` push (hub/state change `{kind, key, value}`) to the REST view. */
export function applyChange(view: EstateStateView, c: StateChange): EstateStateView {
  const v = c.value as never;
  switch (c.kind) {
    case 'device':
      return { ...view, devices: put(view.devices, v as DeviceView, (d) => d.device === c.key) };
    case 'door':
      return { ...view, doors: put(view.doors, v as DoorView, (d) => `${d.device}/${d.door}` === c.key) };
    case 'barrier':
      return { ...view, barriers: put(view.barriers, v as BarrierView, (b) => `${b.device}/${b.lane}` === c.key) };
    case 'camera':
      return { ...view, cameras: put(view.cameras, v as CameraView, (x) => x.device === c.key) };
    case 'gateway':
      return { ...view, gateways: put(view.gateways, v, (g: { gateway: string }) => g.gateway === c.key) };
    case 'occupancy':
      return { ...view, occupancy: v };
    default:
      return view;
  }
}

export function tiles(view: EstateStateView): Tile[] {
  const ids = new Set<string>([...view.devices.map((d) => d.device), ...view.doors.map((d) => d.device), ...view.barriers.map((b) => b.device), ...view.cameras.map((c) => c.device)]);
  const order = { gate: 0, barrier: 1, camera: 2, device: 3 };
  return [...ids]
    .map((id): Tile => {
      const doors = view.doors.filter((d) => d.device === id).sort((a, b) => a.door - b.door);
      const barriers = view.barriers.filter((b) => b.device === id).sort((a, b) => a.lane - b.lane);
      const camera = view.cameras.find((c) => c.device === id);
      const dev = view.devices.find((d) => d.device === id);
      const online = dev?.online ?? null;
      const kind = (dev?.kind ? KINDS[dev.kind] : undefined) ?? (camera ? 'camera' : barriers.length ? 'barrier' : doors.length ? 'gate' : guessKind(id));
      let level: Tile['level'] = 'ok';
      if (doors.some((d) => d.state === 'open') || camera?.motion) level = 'warn';
      if (doors.some((d) => d.state === 'forced' || d.state === 'held') || barriers.some((b) => b.state === 'fault') || camera?.tamper || camera?.signalLoss) level = 'alarm';
      if (online === false || dev?.condition) level = 'off';
      const model = [dev?.info?.manufacturer, dev?.info?.model].filter(Boolean).join(' ');
      const firmware = dev?.info?.firmware;
      return {
        id, ...(dev?.name ? { name: dev.name } : {}), kind, online, doors, barriers, ...(camera ? { camera } : {}), level,
        ...(dev?.condition ? { condition: dev.condition } : {}),
        ...(model || firmware ? { model: [model, firmware].filter(Boolean).join(' · ') } : {}),
        warnings: (dev?.warnings ?? []).map((w) => w.code),
      };
    })
    .sort((a, b) => order[a.kind] - order[b.kind] || a.id.localeCompare(b.id));
}

/** Kinds the hub names (a newer hub may name more: then the tile guesses from what the device has). */
const KINDS: Partial<Record<NonNullable<DeviceView['kind']>, Tile['kind']>> = { 'access-gate': 'gate', 'barrier-gate': 'barrier', 'onvif-camera': 'camera' };

/** A device whose gateway did not say its kind and that reported nothing yet: guess from its id. */
function guessKind(id: string): Tile['kind'] {
  if (/cam/.test(id)) return 'camera';
  if (/barrier|lane|anpr|park/.test(id)) return 'barrier';
  if (/gate|door/.test(id)) return 'gate';
  return 'device';
}

/** A short detail of an event for the ticker, in words: 1号门 · 刷卡, 2号车道 · plate (masked by the hub as it is). */
export const eventDetail = (e: RbEvent): string => labelEventDetail(e);
