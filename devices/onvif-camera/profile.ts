import type { CommandName, EventType } from '../../protocol/index.js';
import type { DeviceProfile } from '../types.js';

/**
 * What an ONVIF camera is, as data: events from its pull-point subscription (motion, tamper, video
 * signal loss) and from health polling (offline/online), and the PTZ and snapshot commands.
 */
export const ONVIF_CAMERA_EVENTS = [
  'camera.motion',
  'camera.tamper',
  'camera.signalLoss',
  'device.offline',
  'device.online',
] as const satisfies readonly EventType[];

export const ONVIF_CAMERA_COMMANDS = ['ptz.move', 'ptz.stop', 'ptz.preset', 'camera.snapshot'] as const satisfies readonly CommandName[];

export const onvifCameraProfile = Object.freeze({
  kind: 'onvif-camera',
  vendor: 'ONVIF Profile S',
  events: ONVIF_CAMERA_EVENTS,
  commands: ONVIF_CAMERA_COMMANDS,
} as const satisfies DeviceProfile);
