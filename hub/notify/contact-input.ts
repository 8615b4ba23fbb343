import { z } from 'zod';
import { ID_PATTERN } from '../../protocol/ids.js';
import { RbError } from '../errors.js';
import { Phone, WecomUserId } from './phone.js';

/**
 * What REST (and the CLI) may write into the contact book, parsed with zod: every address is
 * validated for its kind and stored normalised; nothing else is kept from a body.
 */

/** A configured channel instance's id (`notify.channels[].id`). */
export const ChannelId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a channel id is 1-64 lower-case letters, digits, _ or - (notify.channels[].id)');
export const Severity = z.number().int().min(1).max(4);
const HhMm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day "HH:MM" (00:00-23:59)');

const PhonePoint = z.object({ kind: z.literal('phone'), address: Phone });
const WecomPoint = z.object({ kind: z.literal('wecom-user'), address: WecomUserId });

const pointFields = {
  channelId: ChannelId,
  minSeverity: Severity.default(1),
  fallback: z.boolean().default(false),
  position: z.number().int().min(0).max(10_000).optional(),
};

export const NewContactPoint = z.discriminatedUnion('kind', [PhonePoint.extend(pointFields).strict(), WecomPoint.extend(pointFields).strict()]);
export type NewContactPoint = z.input<typeof NewContactPoint>;

/** A change of a contact point: its kind stays; a new address is validated for it. */
export const ContactPointPatch = z
  .object({
    channelId: ChannelId.optional(),
    address: z.string().max(64).optional(),
    minSeverity: Severity.optional(),
    fallback: z.boolean().optional(),
    position: z.number().int().min(0).max(10_000).optional(),
  })
  .strict();
export type ContactPointPatch = z.input<typeof ContactPointPatch>;

export const PolicyInput = z
  .object({
    /** Local "HH:MM" in the hub's time zone; `to <= from` crosses midnight; null = none. */
    quietHours: z.object({ from: HhMm, to: HhMm }).strict().nullable().default(null),
    lang: z.enum(['zh-CN', 'en']).default('zh-CN'),
  })
  .strict();
export type PolicyInput = z.input<typeof PolicyInput>;

export const RobotScope = z
  .string()
  .max(80)
  .refine((s) => {
    const m = /^(estate|grid):(.*)$/.exec(s);
    return m !== null && ID_PATTERN.test(m[2]!);
  }, 'a robot scope is estate:<id> or grid:<id>');

export const NewGroupRobot = z.object({ scope: RobotScope, channelId: ChannelId, minSeverity: Severity.default(1), position: z.number().int().min(0).max(10_000).optional() }).strict();
export type NewGroupRobot = z.input<typeof NewGroupRobot>;
export const GroupRobotPatch = z.object({ channelId: ChannelId.optional(), minSeverity: Severity.optional(), position: z.number().int().min(0).max(10_000).optional() }).strict();
export type GroupRobotPatch = z.input<typeof GroupRobotPatch>;

export function parseBody<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new RbError('RB_ERR_BAD_BODY', parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; '));
  return parsed.data;
}

/** Re-validate an address for a kind (a patch of an existing point). */
export function parseAddress(kind: 'phone' | 'wecom-user', address: string): string {
  return parseBody(kind === 'phone' ? Phone : WecomUserId, address);
}
