import { z } from 'zod';

/**
 * Data schemas of the barrier-gate (ANPR) and camera event types. `protocol/events.ts` puts them in
 * the one EVENT_TYPES table; they live here to keep that file readable.
 */
const VendorSource = z
  .object({
    vendor: z.string().max(32),
    major: z.number().int().optional(),
    minor: z.number().int().optional(),
    serial: z.number().int().nonnegative().optional(),
    topic: z.string().max(200).optional().describe('ONVIF event topic, e.g. tns1:RuleEngine/CellMotionDetector/Motion'),
  })
  .strict();

const Lane = z.number().int().min(1).max(16).describe('Lane / barrier channel, from 1');

/** A plate as read: Chinese provinces' characters, letters, digits; the hub masks it for volunteers. */
export const Plate = z
  .string()
  .min(2)
  .max(16)
  .regex(/^[\p{Script=Han}A-Z0-9·]+$/u, { message: 'must be a licence plate (Han characters, A-Z, 0-9)' });

export const PlateColor = z.enum(['blue', 'yellow', 'green', 'white', 'black', 'other']);
/** Which list the camera matched the plate against (ANPR vehicleListName). */
export const PlateList = z.enum(['allow', 'block', 'other']);

const vehicle = {
  lane: Lane.optional(),
  plate: Plate.optional().describe('Absent when the camera could not read a plate'),
  plateColor: PlateColor.optional(),
  confidence: z.number().min(0).max(100).optional().describe('Recognition confidence, percent'),
  list: PlateList.describe('allow = resident/registered, block = blocklisted, other = not on a list (visitor)'),
  snapshots: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(8).optional().describe('sha256 of snapshots kept by the hub'),
  source: VendorSource.optional(),
};

const camera = {
  state: z.boolean().describe('true when the condition starts, false when it ends'),
  rule: z.string().max(100).optional().describe('Camera rule or zone name'),
  snapshots: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(8).optional(),
  source: VendorSource.optional(),
};

export const DEVICE_EVENT_TYPES = {
  'vehicle.entered': { alarm: false, data: z.object(vehicle).strict() },
  'vehicle.exited': { alarm: false, data: z.object(vehicle).strict() },
  /** Refused at the barrier; alarm class when the plate is blocklisted (see isAlarmEvent). */
  'vehicle.denied': {
    alarm: false,
    data: z.object({ ...vehicle, reason: z.enum(['blocklist', 'not-allowed', 'other']) }).strict(),
  },
  'barrier.opened': { alarm: false, data: z.object({ lane: Lane.optional(), source: VendorSource.optional() }).strict() },
  'barrier.closed': { alarm: false, data: z.object({ lane: Lane.optional(), source: VendorSource.optional() }).strict() },
  'barrier.fault': {
    alarm: true,
    data: z.object({ lane: Lane.optional(), reason: z.string().max(200), source: VendorSource.optional() }).strict(),
  },
  'camera.motion': { alarm: false, data: z.object(camera).strict() },
  'camera.tamper': { alarm: true, data: z.object(camera).strict() },
  'camera.signalLoss': { alarm: true, data: z.object(camera).strict() },
  /** A device stopped answering (polling with hysteresis) or came back. */
  'device.offline': {
    alarm: false,
    data: z
      .object({
        reason: z.string().max(200).optional(),
        state: z
          .enum(['offline', 'auth-failed'])
          .optional()
          .describe('offline: no answer; auth-failed: the device answers but refuses the configured credentials'),
      })
      .strict(),
  },
  'device.online': { alarm: false, data: z.object({}).strict() },
} as const;
