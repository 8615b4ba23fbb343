import type { Logger } from 'pino';
import { ulid } from 'ulid';
import { Command, topics, type CommandResult } from '../protocol/index.js';
import type { Broker } from './broker/broker.js';
import type { Bus } from './bus.js';
import { RbError } from './errors.js';

export interface SendCommand {
  estate: string;
  gateway: string;
  device: string;
  name: string;
  args?: Record<string, unknown>;
  actor: Command['actor'];
  /** How long the command stays valid; the gateway refuses it after that. Default 30 s. */
  ttlMs?: number;
  /** The command id (a ULID); given by the caller when it must answer with it before the result. */
  id?: string;
}

export interface Commands {
  start(): void;
  stop(): void;
  /** Send a command and wait for its result (or reject when it expires without one). */
  send(req: SendCommand): Promise<{ command: Command; result: CommandResult }>;
  /** Publish a prepared command as is (re-sending an id, tests of expiry) and wait for a result. */
  publish(estate: string, gateway: string, command: Command, waitMs: number): Promise<CommandResult>;
}

/**
 * The one path back from the hub to devices: builds commands with an id, an expiry and an actor,
 * publishes them on the device's `cmd` topic (QoS 1; a gateway with a persistent session gets them
 * after a reconnect) and matches the gateway's `cmd/result`.
 */
export function createCommands(deps: { broker: Broker; bus: Bus; log: Logger }): Commands {
  const waiting = new Map<string, (r: CommandResult) => void>();
  let off: (() => void) | undefined;

  async function publish(estate: string, gateway: string, command: Command, waitMs: number): Promise<CommandResult> {
    const result = new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(command.id);
        reject(new RbError('RB_ERR_COMMAND_TIMEOUT', `no result for command ${command.id} within ${waitMs} ms`));
      }, waitMs);
      waiting.set(command.id, (r) => {
        clearTimeout(timer);
        waiting.delete(command.id);
        resolve(r);
      });
    });
    await deps.broker.publish(topics.cmd(estate, gateway, command.device), JSON.stringify(command), 1);
    deps.log.info({ id: command.id, estate, gateway, device: command.device, name: command.name, actor: command.actor.id }, 'command sent');
    return result;
  }

  return {
    start() {
      off = deps.bus.on('command.result', ({ result }) => waiting.get(result.id)?.(result));
    },
    stop() {
      off?.();
    },
    async send(req) {
      const now = Date.now();
      const ttl = req.ttlMs ?? 30_000;
      const command = Command.parse({
        v: 1,
        id: req.id ?? ulid(now),
        device: req.device,
        name: req.name,
        args: req.args ?? {},
        issuedAt: now,
        expiresAt: now + ttl,
        actor: req.actor,
      });
      const result = await publish(req.estate, req.gateway, command, ttl + 5_000);
      return { command, result };
    },
    publish,
  };
}
