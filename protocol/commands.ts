import { z } from 'zod';
import { Id, Ulid } from './ids.js';
import { Plate } from './device-events.js';

/**
 * Commands hub -> gateway on `rb/v1/{estate}/{gateway}/{device}/cmd`, results gateway -> hub on
 * `.../cmd/result`. A command carries its own deadline (`expiresAt`): a gate must never open an hour
 * late because a link came back. The gateway executes a command id at most once.
 */
const Door = z.number().int().min(1).max(64);

export const COMMANDS = {
  'door.open': z.object({ door: Door.default(1) }).strict(),
  'door.close': z.object({ door: Door.default(1) }).strict(),
  'door.alwaysOpen': z.object({ door: Door.default(1) }).strict(),
  'door.alwaysClosed': z.object({ door: Door.default(1) }).strict(),
  'barrier.open': z.object({ lane: z.number().int().min(1).max(16).default(1) }).strict(),
  'barrier.close': z.object({ lane: z.number().int().min(1).max(16).default(1) }).strict(),
  /** Replace the allow and block lists on the barrier camera. */
  'plates.set': z
    .object({
      allow: z.array(Plate).max(10_000).default([]),
      block: z.array(Plate).max(10_000).default([]),
    })
    .strict(),
  /** Continuous move at normalised speeds (-1..1) for at most timeoutMs, as ONVIF ContinuousMove. */
  'ptz.move': z
    .object({
      pan: z.number().min(-1).max(1).default(0),
      tilt: z.number().min(-1).max(1).default(0),
      zoom: z.number().min(-1).max(1).default(0),
      timeoutMs: z.number().int().min(100).max(60_000).default(1_000),
    })
    .strict(),
  'ptz.stop': z.object({}).strict(),
  'ptz.preset': z.object({ preset: z.string().min(1).max(64) }).strict(),
  /** Fetch a snapshot now; the result carries its sha256 once the hub has it. */
  'camera.snapshot': z.object({}).strict(),
} as const;

export type CommandName = keyof typeof COMMANDS;
export const CommandNameSchema = z.enum(Object.keys(COMMANDS) as [CommandName, ...CommandName[]]);

export const Actor = z
  .object({
    id: z.string().min(1).max(128).describe('Who asked: user id, or "system:<rule>"'),
    name: z.string().max(100).optional(),
    role: z.string().max(32).optional(),
  })
  .strict();

export const Command = z
  .object({
    v: z.literal(1),
    id: Ulid.describe('Command id; the gateway executes an id at most once'),
    device: Id,
    name: z.string().max(64).describe('Command name, e.g. door.open'),
    args: z.record(z.string(), z.unknown()).default({}),
    issuedAt: z.number().int().nonnegative(),
    expiresAt: z.number().int().nonnegative().describe('ms since epoch; not executed at or after this time'),
    actor: Actor,
  })
  .strict();
export type Command = z.infer<typeof Command>;

/** Coded outcomes a gateway reports; the hub shows the code to the person who asked. */
export const COMMAND_ERRORS = {
  RB_ERR_CMD_INVALID: 'the command does not match its schema',
  RB_ERR_UNKNOWN_DEVICE: 'the gateway has no such device',
  RB_ERR_CMD_UNSUPPORTED: "the device's profile has no such command",
  RB_ERR_CMD_EXPIRED: 'the command arrived at or after its expiresAt; not executed',
  RB_ERR_DEVICE_FAILED: 'the device refused or did not answer',
  RB_ERR_DEVICE_TIMEOUT: 'the device did not answer before the deadline',
} as const;
export type CommandErrorCode = keyof typeof COMMAND_ERRORS;

export const CommandResult = z
  .object({
    v: z.literal(1),
    id: Ulid.describe('The command id'),
    device: Id,
    status: z.enum(['ok', 'error']),
    code: z.enum(Object.keys(COMMAND_ERRORS) as [CommandErrorCode, ...CommandErrorCode[]]).optional(),
    message: z.string().max(500).optional(),
    /** True when this is the stored result of an id already executed (a re-delivery); not run again. */
    duplicate: z.boolean().optional(),
    ts: z.number().int().nonnegative(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type CommandResult = z.infer<typeof CommandResult>;

/** Validate a command's args against its name's schema. */
export function parseCommandArgs(name: string, args: unknown): { ok: true; args: Record<string, unknown> } | { ok: false; message: string } {
  if (!Object.hasOwn(COMMANDS, name)) return { ok: false, message: `unknown command ${JSON.stringify(name)}` };
  const parsed = COMMANDS[name as CommandName].safeParse(args ?? {});
  if (!parsed.success) return { ok: false, message: parsed.error.issues.map((i) => `args.${i.path.join('.')}: ${i.message}`).join('; ') };
  return { ok: true, args: parsed.data };
}
