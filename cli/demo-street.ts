/**
 * What `red-butler demo` runs, as data: a street of two estates, their devices, the people who log in,
 * the alert settings that make the demo show every kind of alert, and the gateway configs and the
 * simulator plan made of them. demo.ts starts the processes.
 */
export const STREET = { id: 'demo-street', name: '幸福街道' };
export const GRID = { id: 'demo-grid', name: '第一网格' };
export const GATEWAY = 'gw-1';

/**
 * Demo people, one per role, with passwords everyone can read in the README: this is a demo on
 * localhost. The volunteers are on duty around the clock.
 */
export const DEMO_USERS = [
  { name: 'volunteer', displayName: '王志愿', role: 'volunteer', scopes: ['estate:demo-estate'], password: 'demo-volunteer' },
  { name: 'volunteer2', displayName: '李志愿', role: 'volunteer', scopes: ['estate:demo-estate-2'], password: 'demo-volunteer' },
  { name: 'patrol', displayName: '赵巡查', role: 'patrol', scopes: [`grid:${GRID.id}`], password: 'demo-patrol' },
  { name: 'center', displayName: '街道物业服务中心', role: 'center', scopes: [`street:${STREET.id}`], password: 'demo-center' },
] as const;

/** Every simulated access gate and barrier camera serves ISAPI behind Digest with this account. */
export const DEVICE_ACCOUNT = { username: 'admin', password: 'demo-device-pass' };
export const CAMERA_ACCOUNT = { username: 'admin', password: 'demo-camera-pass' };

export interface DemoEstate {
  id: string;
  name: string;
  /** Hikvision ISAPI access gates; the first one's alarms come with a snapshot from the camera. */
  gates: Array<{ id: string; name: string }>;
  zkteco?: { id: string; name: string; serialNumber: string };
  barrier: { id: string; name: string };
  camera?: { id: string; name: string };
}

/** The demo estate (every kind of device) and a second, smaller one, so the street has two tiles. */
export const ESTATES: readonly DemoEstate[] = [
  {
    id: 'demo-estate',
    name: '枫林苑',
    gates: [{ id: 'gate-east', name: '东门' }, { id: 'gate-north', name: '北门' }],
    zkteco: { id: 'gate-south', name: '南门', serialNumber: 'ZKDEMO0001' },
    barrier: { id: 'barrier-1', name: '车库道闸' },
    camera: { id: 'cam-east', name: '东门摄像机' },
  },
  {
    id: 'demo-estate-2',
    name: '桂花园',
    gates: [{ id: 'gate-main', name: '正门' }],
    barrier: { id: 'barrier-main', name: '道闸' },
  },
];

/**
 * Alert settings that let the incident script (cli/scenarios/incidents.ts) raise every kind of
 * alert within five minutes of the start:
 * - vehicle.overstay after 1 minute (a real estate: hours), for the visitor who stays a whole round;
 * - motion.night watches the gate camera, and the demo estate's night is the whole day (00:00–23:59)
 *   so that its motion raises motion.night whatever time the demo is tried (a real estate keeps
 *   22:00–06:00); forced doors keep their day severity, so the all-day night does not make them all
 *   critical.
 */
export function demoAlertSettings(e: DemoEstate): Record<string, unknown> {
  return {
    ...(e.camera && { nightHours: { from: '00:00', to: '23:59' } }),
    rules: {
      'vehicle.overstay': { overstayMinutes: 1 },
      ...(e.camera && { 'motion.night': { zones: [{ device: e.camera.id }] }, 'door.forced': { nightSeverity: 3 } }),
    },
  };
}

export interface Ports {
  /** The gateway's device push port. */
  push: number;
  /** Each access gate's, barrier's and camera's own port, by device id. */
  device: ReadonlyMap<string, number>;
}

export interface HubAccess {
  mqttPort: number;
  httpPort: number;
  username: string;
  password: string;
}

const LANES = [{ lane: 1, direction: 'in' }, { lane: 2, direction: 'out' }];

/** One estate's gateway config: every device with its address and account, so each can be opened. */
export function gatewayConfig(e: DemoEstate, ports: Ports, hub: HubAccess, o: { salt: string; dataDir: string; level: string }): Record<string, unknown> {
  const at = (id: string): string => `http://127.0.0.1:${ports.device.get(id)}`;
  const isapi = (id: string) => ({ address: at(id), ...DEVICE_ACCOUNT });
  return {
    estate: e.id,
    gateway: GATEWAY,
    hub: { url: `mqtt://127.0.0.1:${hub.mqttPort}`, httpUrl: `http://127.0.0.1:${hub.httpPort}`, username: hub.username, password: hub.password },
    privacy: { salt: o.salt },
    dataDir: o.dataDir,
    devicePush: { host: '127.0.0.1', port: ports.push },
    heartbeatS: 15,
    log: { level: o.level },
    devices: [
      ...e.gates.map((g, i) => ({
        id: g.id,
        driver: 'hikvision-isapi',
        name: g.name,
        options: isapi(g.id),
        ...(i === 0 && e.camera ? { cameras: [e.camera.id] } : {}),
      })),
      // A ZKTeco controller is opened through its own command poll (ADMS): no address.
      ...(e.zkteco ? [{ id: e.zkteco.id, driver: 'zkteco-adms', name: e.zkteco.name, options: { serialNumber: e.zkteco.serialNumber } }] : []),
      { id: e.barrier.id, driver: 'hikvision-anpr', name: e.barrier.name, options: { lanes: LANES, ...isapi(e.barrier.id) } },
      ...(e.camera
        ? [{
            id: e.camera.id,
            driver: 'onvif',
            name: e.camera.name,
            // Polled every 5 s: the camera's time away in the incident script is seen within 15 s.
            options: { address: `${at(e.camera.id)}/onvif/device_service`, ...CAMERA_ACCOUNT, pollMs: 5_000 },
          }]
        : []),
    ],
  };
}

/** The simulator's plan entry of one estate: the same devices, each serving on its port. */
export function planEstate(e: DemoEstate, ports: Ports): Record<string, unknown> {
  const own = (id: string) => ({ id, port: ports.device.get(id), ...DEVICE_ACCOUNT });
  return {
    estate: e.id,
    gatewayUrl: `http://127.0.0.1:${ports.push}`,
    accessGates: e.gates.map((g) => own(g.id)),
    zkteco: e.zkteco ? [e.zkteco.serialNumber] : [],
    barriers: [own(e.barrier.id)],
    // rtsp: the camera's live stream too (issue 20); without GStreamer the simulator warns and goes on without it.
    cameras: e.camera ? [{ id: e.camera.id, port: ports.device.get(e.camera.id), ...CAMERA_ACCOUNT, rtsp: true }] : [],
  };
}

/** Ids of the devices that serve on a port of their own. */
export const ownPortDevices = (e: DemoEstate): string[] => [...e.gates.map((g) => g.id), e.barrier.id, ...(e.camera ? [e.camera.id] : [])];
