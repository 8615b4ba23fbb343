import { z } from 'zod';
import { Id } from '../../protocol/ids.js';
import { RbError } from '../errors.js';
import { isTimeZone } from '../state/types.js';

/**
 * Per-estate alert settings (docs/alerts.md, "Rules" and "Escalation"). Every key has a default, so
 * `{}` is a complete configuration and a stored override names only what differs. Nested objects use
 * `prefault({})` so a partial object still gets the defaults of the keys it leaves out.
 */

const Severity = z.number().int().min(1).max(4);
const Hm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'must be a local time "HH:MM"' });

/** The keys every rule has. */
function base(severity: number, what: string) {
  return {
    enabled: z.boolean().default(true).describe(`Raise ${what}`),
    severity: Severity.default(severity).describe('Severity 1 (low) .. 4 (critical)'),
  };
}

/** A rule with only a switch and a severity. */
function rule(severity: number, what: string) {
  return z.object(base(severity, what)).strict().prefault({}).describe(what);
}

const MotionZone = z
  .object({
    device: Id.describe('Camera device id'),
    rule: z.string().max(100).optional().describe('Camera rule / zone name (event data.rule); absent = any zone of the camera'),
  })
  .strict();

const MaintenanceWindow = z
  .object({
    device: Id.describe('Device (or gateway) id that is under maintenance'),
    from: z.number().int().nonnegative().describe('Start, ms since epoch'),
    to: z.number().int().nonnegative().describe('End (exclusive), ms since epoch'),
  })
  .strict()
  .refine((w) => w.to > w.from, { message: 'to must be after from' });

export const RulesSchema = z
  .object({
    'door.forced': z
      .object({
        ...base(3, 'door.forced: a door opened without a valid access'),
        nightSeverity: Severity.default(4).describe('Severity during night hours'),
      })
      .strict()
      .prefault({})
      .describe('door.forced: a door opened without a valid access'),
    'door.held': z
      .object({
        ...base(2, 'door.held: the device reports a held door, or a door stays open too long'),
        heldS: z.number().int().min(1).default(120).describe('Seconds a door may stay open before the hub raises door.held'),
      })
      .strict()
      .prefault({})
      .describe('door.held: the device reports a held door, or a door stays open too long'),
    'access.denied.burst': z
      .object({
        ...base(2, 'access.denied.burst: many denied accesses at one device'),
        count: z.number().int().min(2).max(100).default(5).describe('Denied accesses that make a burst'),
        windowS: z.number().int().min(1).default(120).describe('Within this many seconds (device time)'),
      })
      .strict()
      .prefault({})
      .describe('access.denied.burst: many denied accesses at one device'),
    'device.tamper': rule(3, 'device.tamper: device or camera tamper'),
    'barrier.fault': rule(2, 'barrier.fault: a barrier reports a fault'),
    'plate.blocklisted': rule(3, 'plate.blocklisted: a blocklisted plate at a barrier'),
    'vehicle.overstay': z
      .object({
        ...base(1, 'vehicle.overstay: a visitor vehicle stays too long'),
        overstayMinutes: z.number().int().min(1).default(240).describe('Minutes after entry a visitor (list other) should have left'),
      })
      .strict()
      .prefault({})
      .describe('vehicle.overstay: a visitor vehicle stays too long'),
    'camera.offline': z
      .object({
        ...base(2, 'camera.offline: a camera stays offline'),
        afterS: z.number().int().min(0).default(60).describe('Seconds offline before the alert'),
      })
      .strict()
      .prefault({})
      .describe('camera.offline: a camera stays offline'),
    'camera.signalLoss': rule(3, 'camera.signalLoss: a camera lost its video signal'),
    'motion.night': z
      .object({
        ...base(2, 'motion.night: motion in a configured zone during night hours'),
        zones: z.array(MotionZone).max(500).default([]).describe('Watched zones; an empty list watches none'),
      })
      .strict()
      .prefault({})
      .describe('motion.night: motion in a configured zone during night hours'),
    'gateway.offline': z
      .object({
        ...base(3, 'gateway.offline: a gateway stays offline'),
        afterS: z.number().int().min(0).default(90).describe('Seconds offline before the alert'),
      })
      .strict()
      .prefault({})
      .describe('gateway.offline: a gateway stays offline'),
    'gateway.pressure': rule(2, 'gateway.pressure: the gateway outbox is dropping routine events'),
    'device.attention': rule(1, 'device.attention: a device needs an installer (refuses the credentials, or misbehaves, e.g. answers PullMessages at once)'),
    'patrol.missed': rule(2, 'patrol.missed: a patrol round\'s checkpoint passed its deadline with no scan (hub/patrol)'),
  })
  .strict()
  .prefault({})
  .describe('Per-rule switches, severities and thresholds');

/**
 * Alarm-class rules: a person signs them off. When their condition clears (the forced door closes, the
 * tamper state goes false) the alert is stamped `conditionClearedAt` and stays open; it never resolves
 * by itself. docs/alerts.md, "Alarms are signed off by a person".
 */
export const ALARM_RULES = ['door.forced', 'device.tamper', 'plate.blocklisted', 'camera.signalLoss'] as const;
/** Rules whose condition is only a state (a door held, a device offline): auto-resolve per estate, on by default. */
export const STATE_RULES = ['door.held', 'camera.offline', 'gateway.offline', 'gateway.pressure', 'vehicle.overstay', 'device.attention'] as const;

const alarmKey = (rule: string) =>
  z
    .boolean()
    .default(false)
    .refine((v) => v === false, { message: `${rule} is an alarm: a person resolves it, so autoResolve.${rule} cannot be true` })
    .describe(`${rule} is an alarm and never resolves by itself (always false)`);
const stateKey = (rule: string) =>
  z.boolean().default(true).describe(`Resolve ${rule} by itself once its condition stayed clear clearAfterS; false = stamp it and wait for a person`);

export const AutoResolveSchema = z
  .object({
    ...(Object.fromEntries(ALARM_RULES.map((r) => [r, alarmKey(r)])) as Record<(typeof ALARM_RULES)[number], ReturnType<typeof alarmKey>>),
    ...(Object.fromEntries(STATE_RULES.map((r) => [r, stateKey(r)])) as Record<(typeof STATE_RULES)[number], ReturnType<typeof stateKey>>),
  })
  .strict()
  .prefault({})
  .describe('Per rule: whether an alert resolves by itself when its condition clears (state rules only; alarms always wait for a person)');

export const AlertSettingsSchema = z
  .object({
    timeZone: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai')
      .default('Asia/Shanghai')
      .describe('Night and quiet hours are local times in this zone'),
    nightHours: z
      .object({
        from: Hm.default('22:00').describe('Night starts (local time)'),
        to: Hm.default('06:00').describe('Night ends (local time); before `from` means the next morning'),
      })
      .strict()
      .prefault({})
      .describe('Night hours, for door.forced night severity and motion.night'),
    rules: RulesSchema,
    clearAfterS: z
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(30)
      .describe('Auto-resolve only after the condition stayed clear this long; a repeat before that counts on the same alert (flapping)'),
    autoResolve: AutoResolveSchema,
    escalation: z
      .object({
        ackMinutes: z
          .array(z.number().min(0))
          .length(3)
          .default([5, 10, 20])
          .describe('Minutes after opening without an acknowledgement to reach levels 1, 2, 3 (non-decreasing)'),
        renotifyMinutes: z.number().min(0).default(5).describe('Re-notify the current level this often until acknowledged; 0 = never'),
      })
      .strict()
      .prefault({})
      .refine((e) => e.ackMinutes.every((m, i, a) => i === 0 || m >= a[i - 1]!), {
        message: 'ackMinutes must not decrease',
        path: ['ackMinutes'],
      })
      .describe('Escalation: level 0 on-duty volunteers, 1 all volunteers, 2 grid patrol, 3 street center'),
    quietHours: z
      .object({
        from: Hm.default('23:00').describe('Quiet hours start (local time)'),
        to: Hm.default('07:00').describe('Quiet hours end (local time)'),
        maxSeverity: z.number().int().min(0).max(4).default(1).describe('Alerts of this severity or lower wait for the end of quiet hours; 0 = none'),
      })
      .strict()
      .prefault({})
      .describe('No notification of low-severity alerts during these hours'),
    maintenance: z
      .array(MaintenanceWindow)
      .max(500)
      .default([])
      .describe('Maintenance windows: no alert opens for the device between from and to'),
  })
  .strict()
  .describe('Alert settings of one estate');

export type AlertSettings = z.infer<typeof AlertSettingsSchema>;
export type AlertSettingsInput = z.input<typeof AlertSettingsSchema>;
export type RuleName = keyof AlertSettings['rules'];
export const RULE_NAMES = Object.keys(RulesSchema.parse({})) as RuleName[];

/** The defaults, resolved once. */
export const DEFAULT_SETTINGS: AlertSettings = resolveSettings({});

/**
 * Complete an estate's stored (partial) settings with the defaults and validate them. Throws
 * `RB_ERR_BAD_BODY` with every problem and its key path; the result is frozen.
 */
export function resolveSettings(partial: unknown = {}): AlertSettings {
  const r = AlertSettingsSchema.safeParse(partial ?? {});
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new RbError('RB_ERR_BAD_BODY', `invalid alert settings: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, issues);
  }
  return deepFreeze(r.data);
}

/** Whether an alert of `rule` resolves by itself when its condition clears (false: stamped, a person resolves it). */
export function autoResolves(settings: AlertSettings, rule: string): boolean {
  if ((ALARM_RULES as readonly string[]).includes(rule)) return false;
  const v = (settings.autoResolve as Record<string, boolean | undefined>)[rule];
  return v ?? true;
}

/** Whether `device` is inside one of the estate's maintenance windows at `at`. */
export function inMaintenance(settings: AlertSettings, device: string, at: number): boolean {
  return settings.maintenance.some((w) => w.device === device && at >= w.from && at < w.to);
}

/** End of the maintenance window covering `device` at `at` (the latest if several overlap), else undefined. */
export function maintenanceEnd(settings: AlertSettings, device: string, at: number): number | undefined {
  let end: number | undefined;
  for (const w of settings.maintenance) if (w.device === device && at >= w.from && at < w.to) end = Math.max(end ?? 0, w.to);
  return end;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
