import type { Logger } from 'pino';
import {
  Command,
  COMMAND_ERRORS,
  DELIVERY,
  parseCommandArgs,
  topics,
  type CommandErrorCode,
  type CommandName,
  type CommandResult,
  GATEWAY_COMMANDS,
  isGatewayCommand,
  type GatewayCommandName,
} from '../protocol/index.js';
import { DeviceCommandError, type Driver, type DriverFactory } from '../devices/types.js';
import type { CommandLog } from './command-log.js';

export interface CommandExecutorDeps {
  estate: string;
  gateway: string;
  devices: ReadonlyMap<string, { driver: Driver; factory: DriverFactory }>;
  log: CommandLog;
  logger: Logger;
  publish(topic: string, payload: string): Promise<void>;
  /** Longest a device call may take, even if the command expires later. */
  maxDurationMs: number;
  /**
   * Handlers of commands addressed to the gateway itself (device id = gateway id, protocol/edge.ts
   * GATEWAY_COMMANDS), e.g. the duty list for the edge's own warnings. Args arrive validated.
   */
  local?: Partial<Record<GatewayCommandName, (args: unknown) => Promise<Record<string, unknown> | undefined>>>;
  now?: () => number;
}

export interface CommandExecutor {
  /** Handle one message from `.../{device}/cmd`. Never throws; always answers on `.../cmd/result`. */
  handle(device: string, payload: Buffer): Promise<CommandResult | undefined>;
  stats(): { executed: number; rejected: Partial<Record<CommandErrorCode | 'duplicate', number>> };
}

/**
 * Validates and runs commands from the hub: schema, known device, capability in the device's profile,
 * `expiresAt` (an expired "open door" is never executed), once per id (on disk), with a deadline.
 */
export function createCommandExecutor(deps: CommandExecutorDeps): CommandExecutor {
  const now = deps.now ?? Date.now;
  const stats = { executed: 0, rejected: {} as Partial<Record<CommandErrorCode | 'duplicate', number>> };

  async function answer(device: string, result: CommandResult): Promise<CommandResult> {
    await deps
      .publish(topics.cmdResult(deps.estate, deps.gateway, device), JSON.stringify(result))
      .catch((err: Error) => deps.logger.warn({ err: err.message, id: result.id }, 'command result not published'));
    return result;
  }

  function failure(id: string, device: string, code: CommandErrorCode, message?: string): CommandResult {
    stats.rejected[code] = (stats.rejected[code] ?? 0) + 1;
    return { v: 1, id, device, status: 'error', code, message: message ?? COMMAND_ERRORS[code], ts: now() };
  }

  async function runLocal(cmd: Command, device: string): Promise<CommandResult> {
    const handler = isGatewayCommand(cmd.name) ? deps.local?.[cmd.name] : undefined;
    if (!handler) return failure(cmd.id, device, 'RB_ERR_CMD_UNSUPPORTED', `this gateway does not handle ${cmd.name}`);
    const parsed = GATEWAY_COMMANDS[cmd.name as GatewayCommandName].safeParse(cmd.args);
    if (!parsed.success) return failure(cmd.id, device, 'RB_ERR_CMD_INVALID', parsed.error.issues.slice(0, 5).map((i) => `args.${i.path.join('.')}: ${i.message}`).join('; '));
    if (cmd.expiresAt <= now()) return failure(cmd.id, device, 'RB_ERR_CMD_EXPIRED');
    try {
      stats.executed++;
      const data = await handler(parsed.data);
      return { v: 1, id: cmd.id, device, status: 'ok', ts: now(), ...(data ? { data } : {}) };
    } catch (err) {
      return failure(cmd.id, device, 'RB_ERR_DEVICE_FAILED', (err as Error).message);
    }
  }

  async function run(cmd: Command, device: string): Promise<CommandResult> {
    if (device === deps.gateway && !deps.devices.has(device)) return runLocal(cmd, device);
    const entry = deps.devices.get(device);
    if (!entry) return failure(cmd.id, device, 'RB_ERR_UNKNOWN_DEVICE', `no device "${device}" on this gateway`);
    if (!(entry.factory.profile.commands as readonly string[]).includes(cmd.name) || !entry.driver.execute) {
      return failure(cmd.id, device, 'RB_ERR_CMD_UNSUPPORTED', `${entry.factory.name} does not support ${cmd.name}`);
    }
    const args = parseCommandArgs(cmd.name, cmd.args);
    if (!args.ok) return failure(cmd.id, device, 'RB_ERR_CMD_INVALID', args.message);
    const left = cmd.expiresAt - now();
    if (left <= 0) return failure(cmd.id, device, 'RB_ERR_CMD_EXPIRED', `expired ${-left} ms ago; not executed`);
    const signal = AbortSignal.timeout(Math.min(left, deps.maxDurationMs));
    try {
      stats.executed++;
      const data = await entry.driver.execute({ id: cmd.id, name: cmd.name as CommandName, args: args.args, signal });
      return { v: 1, id: cmd.id, device, status: 'ok', ts: now(), ...(data ? { data } : {}) };
    } catch (err) {
      if (err instanceof DeviceCommandError) return failure(cmd.id, device, err.code, err.message);
      if (signal.aborted) return failure(cmd.id, device, 'RB_ERR_DEVICE_TIMEOUT');
      return failure(cmd.id, device, 'RB_ERR_DEVICE_FAILED', (err as Error).message);
    }
  }

  return {
    stats: () => stats,
    async handle(device, payload) {
      let value: unknown;
      try {
        value = JSON.parse(payload.toString('utf8'));
      } catch {
        deps.logger.warn({ device }, 'command is not JSON; ignored');
        return undefined; // no id to answer to
      }
      const parsed = Command.safeParse(value);
      if (!parsed.success) {
        const id = (value as { id?: unknown })?.id;
        const message = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
        deps.logger.warn({ device, message }, 'invalid command');
        if (typeof id !== 'string' || !/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(id)) return undefined;
        return answer(device, failure(id, device, 'RB_ERR_CMD_INVALID', message));
      }
      const cmd = parsed.data;
      if (cmd.device !== device) {
        return answer(device, failure(cmd.id, device, 'RB_ERR_CMD_INVALID', 'command device differs from its topic'));
      }
      const seen = deps.log.claim(cmd.id, device, cmd.name);
      if (seen.state !== 'new') {
        stats.rejected.duplicate = (stats.rejected.duplicate ?? 0) + 1;
        deps.logger.info({ id: cmd.id, device, state: seen.state }, 'duplicate command id; not executed again');
        if (seen.state === 'done') return answer(device, { ...seen.result, duplicate: true });
        return answer(device, {
          ...failure(cmd.id, device, 'RB_ERR_DEVICE_FAILED', 'interrupted earlier (gateway restart); not executed again'),
          duplicate: true,
        });
      }
      const result = await run(cmd, device);
      deps.log.finish(result);
      deps.logger.info({ id: cmd.id, device, name: cmd.name, actor: cmd.actor.id, status: result.status, code: result.code }, 'command');
      return answer(device, result);
    },
  };
}

export const COMMAND_DELIVERY = DELIVERY['cmd/result'];
