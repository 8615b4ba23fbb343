import { z } from 'zod';
import { Id } from './ids.js';

/**
 * The edge warns on its own (issue 17 item 6): a gateway that has not reached the hub for a while
 * evaluates the critical rules itself and texts the estate's on-duty volunteers through its local GSM
 * modem, from a duty list the hub sent it (command `gateway.duty.set`). The event it texted about
 * carries an `edge` notice in its envelope, so the hub, when the event arrives, knows who was told
 * (docs/protocol.md, "Notified at the edge").
 */

/** The rules a gateway evaluates alone: the ones hub/alerts/rules.ts raises as door.forced, device.tamper and plate.blocklisted. */
export const EDGE_RULES = ['door.forced', 'device.tamper', 'plate.blocklisted'] as const;
export type EdgeRule = (typeof EDGE_RULES)[number];

/**
 * Which critical rule an event trips, or null: the same conditions as the hub's rules (a forced door;
 * a controller's tamper switch or a camera's tamper start; a blocklisted plate at a barrier, on
 * entry, exit or refusal). Pure, so hub and gateway judge alike.
 */
export function edgeRule(event: { type: string; data?: unknown }): EdgeRule | null {
  const d = (event.data ?? {}) as { list?: unknown; reason?: unknown; state?: unknown };
  switch (event.type) {
    case 'door.forced':
      return 'door.forced';
    case 'device.tamper':
      return 'device.tamper';
    case 'camera.tamper':
      return d.state === true ? 'device.tamper' : null;
    case 'vehicle.entered':
    case 'vehicle.exited':
    case 'vehicle.denied':
      return d.list === 'block' || (event.type === 'vehicle.denied' && d.reason === 'blocklist') ? 'plate.blocklisted' : null;
    default:
      return null;
  }
}

/** A user id of the hub (opaque to the gateway). */
const UserId = z.string().min(1).max(64);

/**
 * Set by the gateway on an event it texted about while the hub was unreachable. Optional in the
 * envelope; absent on every other event.
 */
export const EdgeNotice = z
  .object({
    notifiedAt: z.number().int().nonnegative().describe('When the gateway handed the texts to its modem daemon, ms since epoch'),
    channel: z.literal('gammu').describe('How: the gateway\'s local GSM modem through gammu-smsd'),
    rule: z.enum(EDGE_RULES).describe('The critical rule the gateway judged the event by'),
    to: z.array(UserId).max(50).describe('Hub user ids of the people texted (from the duty list); empty when nobody could be texted'),
  })
  .strict();
export type EdgeNotice = z.infer<typeof EdgeNotice>;

const Window = z
  .object({ from: z.number().int().nonnegative(), to: z.number().int().nonnegative() })
  .strict()
  .refine((w) => w.to > w.from, { message: 'to must be after from' });

export const DutyPerson = z
  .object({
    userId: UserId,
    name: z.string().min(1).max(100),
    phone: z.string().regex(/^\+?[0-9]{3,20}$/, { message: 'digits with an optional leading +' }),
    lang: z.enum(['zh-CN', 'en']).default('zh-CN'),
    /** Duty windows as absolute times (ms): the hub expands the weekly roster, the gateway needs no calendar. */
    duty: z.array(Window).max(200).default([]),
    /** Texted when nobody is on duty at that moment (the estate's center staff, say). */
    standby: z.boolean().default(false),
  })
  .strict();
export type DutyPerson = z.infer<typeof DutyPerson>;

/** Args of the `gateway.duty.set` command: who the gateway may text, and when. Replaces the previous list. */
export const DutyList = z
  .object({
    estate: Id,
    estateName: z.string().max(100).optional(),
    /** IANA zone for the "HH:mm" in the texts (the hub's timeZone). */
    timeZone: z.string().min(1).max(64).default('Asia/Shanghai'),
    issuedAt: z.number().int().nonnegative(),
    people: z.array(DutyPerson).max(200),
  })
  .strict();
export type DutyList = z.infer<typeof DutyList>;

/**
 * Who to text at `at`: the people with a duty window containing it; when there is none, the standby
 * people (a window list that ran out because the hub has been away for days lands here too).
 */
export function dutyRecipients(list: DutyList, at: number): DutyPerson[] {
  const on = list.people.filter((p) => p.duty.some((w) => w.from <= at && at < w.to));
  return on.length ? on : list.people.filter((p) => p.standby);
}

/**
 * Commands addressed to the gateway itself (device id = the gateway id), not to one of its devices:
 * sent by the hub's own services, never through the REST command endpoint (parseCommandArgs does not
 * know them).
 */
export const GATEWAY_COMMANDS = {
  'gateway.duty.set': DutyList,
} as const;
export type GatewayCommandName = keyof typeof GATEWAY_COMMANDS;

export function isGatewayCommand(name: string): name is GatewayCommandName {
  return Object.hasOwn(GATEWAY_COMMANDS, name);
}
