import type { EventType } from '../../protocol/index.js';
import { SIM_KINDS as ISAPI_KINDS, type SimKind as IsapiKind } from '../../devices/access-gate/simulator.js';
import { ZK_SIM_KINDS, type ZkSimKind } from '../../devices/access-gate/zkteco-simulator.js';
import { SIM_KINDS as ANPR_KINDS, type SimKind as AnprKind } from '../../devices/barrier-gate/simulator.js';
import type { SimEventKind } from '../../devices/onvif-camera/simulator.js';

/**
 * Scenarios: for each kind of simulated device, a weighted mix of "visits" (what happens at the
 * device in a row: a card pass, then the door opening and closing) and how much of the traffic that
 * kind of device carries. Anomalies are visits too (forced door, blocklisted plate, tamper...).
 *
 * What each simulated step becomes at the hub comes from the simulators' own kind → type tables
 * (SIM_KINDS, ZK_SIM_KINDS, barrier SIM_KINDS); only the camera steps are mapped here, as the ONVIF
 * simulator raises notifications by topic and the driver maps topics (onvif-camera/driver.ts TOPICS).
 */
export const SCENARIOS = ['normal-day', 'rush-hour', 'night-intrusion', 'camera-failure', 'demo'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export type DeviceKind = 'isapi' | 'zkteco' | 'anpr' | 'onvif';

/** A camera step: raise (`-on`) or clear (`-off`) one ONVIF notification. */
export type CameraStep = `${SimEventKind}-${'on' | 'off'}`;

export interface StepOf {
  isapi: IsapiKind;
  zkteco: ZkSimKind;
  anpr: AnprKind;
  onvif: CameraStep;
}

/** [weight, steps]: one visit of a device of kind K. */
export type Visit<K extends DeviceKind> = readonly [number, ReadonlyArray<StepOf[K]>];

export interface Mix {
  /** Share of the traffic one device of this kind carries, relative to the other kinds. */
  weight: Record<DeviceKind, number>;
  visits: { [K in DeviceKind]: ReadonlyArray<Visit<K>> };
  /** Also run the incident script (incidents.ts) in every estate, once per incident period. */
  incidents?: boolean;
}

const CAMERA_TYPES: Readonly<Record<SimEventKind, EventType>> = {
  motion: 'camera.motion',
  tamper: 'camera.tamper',
  signalLoss: 'camera.signalLoss',
};

/** The event type the gateway's driver makes of one accepted step (one push / notification). */
export function typeOf<K extends DeviceKind>(kind: K, step: StepOf[K]): EventType {
  switch (kind) {
    case 'isapi':
      return ISAPI_KINDS[step as IsapiKind].type;
    case 'zkteco':
      return ZK_SIM_KINDS[step as ZkSimKind].type;
    case 'anpr':
      return ANPR_KINDS[step as AnprKind];
    default:
      return CAMERA_TYPES[(step as CameraStep).replace(/-(on|off)$/, '') as SimEventKind];
  }
}

const pass = ['door-open', 'door-close'] as const;
const normalAccess: ReadonlyArray<Visit<'isapi'>> = [
  [42, ['card-ok', ...pass]],
  [38, ['face-ok', ...pass]],
  [8, ['card-unknown']],
  [7, ['face-fail']],
  [3, ['forced', 'door-close']],
  [2, ['card-ok', 'door-open', 'held', 'door-close']],
];
const normalZk: ReadonlyArray<Visit<'zkteco'>> = [
  [80, ['card-ok', ...pass]],
  [10, ['card-unknown']],
  [5, ['card-expired']],
  [3, ['forced', 'door-close']],
  [2, ['card-ok', 'door-open', 'held', 'door-close']],
];
const gate = ['barrier-open', 'barrier-close'] as const;
const normalAnpr: ReadonlyArray<Visit<'anpr'>> = [
  [45, ['allow-in', ...gate]],
  [40, ['allow-out', ...gate]],
  [10, ['visitor-in', ...gate]],
  [3, ['unreadable', ...gate]],
  [2, ['block']],
];
const quietCamera: ReadonlyArray<Visit<'onvif'>> = [[1, ['motion-on', 'motion-off']]];

export const MIXES: Readonly<Record<ScenarioName, Mix>> = {
  /** Mostly residents passing by card or face, cars in and out by the allow list, rare denials. */
  'normal-day': {
    weight: { isapi: 1, zkteco: 1, anpr: 0.6, onvif: 0.1 },
    visits: { isapi: normalAccess, zkteco: normalZk, anpr: normalAnpr, onvif: quietCamera },
  },
  /** Morning rush: cars dominate, visitors queue at the barrier, tailgating holds doors open. */
  'rush-hour': {
    weight: { isapi: 1, zkteco: 1, anpr: 2, onvif: 0.2 },
    visits: {
      isapi: [[45, ['face-ok', ...pass]], [35, ['card-ok', ...pass]], [10, ['card-ok', 'door-open', 'held', 'door-close']], [6, ['face-fail']], [4, ['card-unknown']]],
      zkteco: [[80, ['card-ok', ...pass]], [12, ['card-ok', 'door-open', 'held', 'door-close']], [8, ['card-unknown']]],
      anpr: [[35, ['allow-in', ...gate]], [35, ['allow-out', ...gate]], [22, ['visitor-in', ...gate]], [5, ['unreadable', ...gate]], [2, ['block']], [1, ['fault', 'barrier-close']]],
      onvif: quietCamera,
    },
  },
  /** Little legitimate traffic; forced and held doors, tamper, blocklisted plates, motion at night. */
  'night-intrusion': {
    weight: { isapi: 1, zkteco: 1, anpr: 0.5, onvif: 0.6 },
    visits: {
      isapi: [[20, ['card-ok', ...pass]], [25, ['forced', 'door-close']], [15, ['card-unknown']], [10, ['face-fail']], [15, ['card-ok', 'door-open', 'held', 'door-close']], [15, ['tamper']]],
      zkteco: [[25, ['card-ok', ...pass]], [25, ['forced', 'door-close']], [20, ['card-unknown']], [15, ['held', 'door-close']], [15, ['tamper']]],
      anpr: [[30, ['allow-in', ...gate]], [40, ['block']], [20, ['unreadable', ...gate]], [10, ['visitor-in', ...gate]]],
      onvif: [[80, ['motion-on', 'motion-off']], [20, ['tamper-on', 'tamper-off']]],
    },
  },
  /**
   * The demo: a calm background (residents pass, a few single denials, residents' cars, deliveries that
   * leave within a minute) and the incident script (incidents.ts), which raises every kind of alert once
   * per incident period at a known time.
   */
  demo: {
    // No background motion: with the demo's motion zone and night hours, every motion is an alert.
    weight: { isapi: 1, zkteco: 1, anpr: 0.6, onvif: 0 },
    visits: {
      isapi: [[48, ['card-ok', ...pass]], [44, ['face-ok', ...pass]], [4, ['card-unknown']], [4, ['face-fail']]],
      zkteco: [[94, ['card-ok', ...pass]], [3, ['card-unknown']], [3, ['card-expired']]],
      anpr: [[42, ['allow-in', ...gate]], [42, ['allow-out', ...gate]], [10, ['visitor-in', ...gate, 'visitor-out', ...gate]], [6, ['unreadable', ...gate]]],
      onvif: quietCamera,
    },
    incidents: true,
  },
  /** Normal traffic while cameras get covered, lose their video signal and come back. */
  'camera-failure': {
    weight: { isapi: 1, zkteco: 1, anpr: 0.6, onvif: 1 },
    visits: {
      isapi: normalAccess,
      zkteco: normalZk,
      anpr: normalAnpr,
      onvif: [[40, ['signalLoss-on', 'signalLoss-off']], [35, ['tamper-on', 'tamper-off']], [25, ['motion-on', 'motion-off']]],
    },
  },
};

/** One visit, drawn by weight. */
export function drawVisit<K extends DeviceKind>(visits: ReadonlyArray<Visit<K>>, random: () => number): ReadonlyArray<StepOf[K]> {
  const total = visits.reduce((a, [w]) => a + w, 0);
  let r = random() * total;
  for (const [w, steps] of visits) {
    if ((r -= w) < 0) return steps;
  }
  return visits[visits.length - 1]![1];
}
