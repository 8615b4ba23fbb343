import type { Logger } from '../../lib/log.js';
import { DeviceCommandError, type DriverCommand } from '../types.js';
import { ZKTECO_COMMANDS, type ZkCommand } from './zkteco-codes.js';

/**
 * Remote door control over ADMS. The server cannot call the device: it queues a command, hands it out
 * as `C:<id>:<command>` in the answer to the device's next `GET /iclock/getrequest`, and the device
 * reports the outcome with `POST /iclock/devicecmd` lines `ID=<id>&Return=<code>&CMD=<command>`
 * (Return=0 is success, a negative number an error) [PUSH "command" and "reply" sections].
 *
 * `CONTROL DEVICE AABBCCDD` [PUSH, PULL ControlDevice]: AA 01 = output operation; BB = door number;
 * CC 01 = the door's lock output (02 would be an auxiliary output); DD = seconds the output stays
 * active, two hex digits: 00 closes (and ends a normally-open state), FF (255) holds it open. The widely
 * used "CONTROL DEVICE 01010105" is door 1 open for 5 s; 02000000 (cancel alarms) and 03000000
 * (restart) are other operations we do not send. Sources: zkteco-codes.ts.
 */
export type ZkDoorResult = { door: number; command: string };

const failed = (message: string): DeviceCommandError => new DeviceCommandError('RB_ERR_DEVICE_FAILED', message);
const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');

export function controlDevice(name: ZkCommand, door: number, openSeconds: number): string {
  const duration = name === 'door.open' ? openSeconds : name === 'door.alwaysOpen' ? 0xff : 0;
  return `CONTROL DEVICE 01${hex2(door)}01${hex2(duration)}`;
}

/** The command a devicecmd `CMD=` names, decoded back (for the simulator and tests). */
export function decodeControlDevice(cmd: string): { name: ZkCommand; door: number; seconds: number } | undefined {
  const m = /^CONTROL DEVICE 01([0-9A-F]{2})01([0-9A-F]{2})(?:[0-9A-F]{2})?$/i.exec(cmd.trim());
  if (!m) return undefined;
  const door = parseInt(m[1] as string, 16);
  const seconds = parseInt(m[2] as string, 16);
  const name: ZkCommand = seconds === 0 ? 'door.close' : seconds === 0xff ? 'door.alwaysOpen' : 'door.open';
  return door >= 1 ? { name, door, seconds } : undefined;
}

export interface DevicecmdReply {
  id: string;
  ret: number;
  cmd: string;
}

/** One `devicecmd` body → its replies, or why it is not one. A body may hold several lines. */
export function parseDevicecmd(body: string): DevicecmdReply[] | string {
  const replies: DevicecmdReply[] = [];
  for (const line of body.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const p = new URLSearchParams(line.trim());
    const id = p.get('ID') ?? '';
    const ret = p.get('Return') ?? '';
    if (!/^[0-9A-Za-z_-]{1,32}$/.test(id)) return 'reply without a valid ID';
    if (!/^-?\d{1,6}$/.test(ret)) return 'reply without a numeric Return';
    replies.push({ id, ret: Number(ret), cmd: (p.get('CMD') ?? '').slice(0, 64) });
  }
  return replies.length > 0 ? replies : 'empty devicecmd body';
}

interface Pending {
  id: string;
  line: string;
  handedOut: boolean;
  settle(err: DeviceCommandError | undefined): void;
}

export interface CommandQueue {
  execute(command: DriverCommand): Promise<ZkDoorResult>;
  /** Answer body for a getrequest poll: queued commands (marked handed out), or "OK". */
  take(): string;
  /** A devicecmd reply; false when its id is not one we are waiting for. */
  settle(reply: DevicecmdReply): boolean;
  /** Fail everything still pending (driver stopping). */
  close(): void;
}

export function createCommandQueue(o: { deviceId: string; timeoutMs: number; openSeconds: number; log: Logger }): CommandQueue {
  const pending = new Map<string, Pending>();
  // Ids restart per driver; a random base keeps a late reply to a previous run from matching.
  let nextId = 1 + Math.floor(Math.random() * 900_000);

  async function execute(command: DriverCommand): Promise<ZkDoorResult> {
    if (!(ZKTECO_COMMANDS as readonly string[]).includes(command.name)) throw failed(`command ${command.name} is not supported by this driver`);
    const door = command.args.door ?? 1;
    if (typeof door !== 'number' || !Number.isInteger(door) || door < 1 || door > 64) throw failed('args.door must be an integer 1..64');
    if (command.signal.aborted) throw new DeviceCommandError('RB_ERR_DEVICE_TIMEOUT', 'command deadline passed before it was queued');
    const text = controlDevice(command.name as ZkCommand, door, o.openSeconds);
    const id = String(nextId++);
    const started = Date.now();
    const fields = { command: command.id, name: command.name, door, zkId: id, text };
    return new Promise<ZkDoorResult>((resolve, reject) => {
      const timer = setTimeout(() => expire('deadline'), o.timeoutMs);
      const onAbort = (): void => expire('abort');
      command.signal.addEventListener('abort', onAbort, { once: true });
      const entry: Pending = {
        id,
        line: `C:${id}:${text}`,
        handedOut: false,
        settle(err) {
          clearTimeout(timer);
          command.signal.removeEventListener('abort', onAbort);
          pending.delete(id);
          const ms = Date.now() - started;
          if (err) {
            o.log.warn({ ...fields, code: err.code, reason: err.message, ms }, 'zkteco door command failed');
            reject(err);
          } else {
            o.log.info({ ...fields, ms }, 'zkteco door command done');
            resolve({ door, command: text });
          }
        },
      };
      function expire(why: 'deadline' | 'abort'): void {
        const limit = why === 'deadline' ? `within ${o.timeoutMs} ms` : 'before the command deadline';
        const message = entry.handedOut
          ? `device fetched the command but did not confirm it ${limit}; it may still have acted`
          : `device did not poll for commands ${limit}; the command was withdrawn (device offline?)`;
        entry.settle(new DeviceCommandError('RB_ERR_DEVICE_TIMEOUT', message));
      }
      pending.set(id, entry);
    });
  }

  return {
    execute,
    take() {
      const lines = [...pending.values()].filter((p) => !p.handedOut);
      for (const p of lines) p.handedOut = true;
      return lines.length === 0 ? 'OK' : lines.map((p) => p.line).join('\n') + '\n';
    },
    settle(reply) {
      const entry = pending.get(reply.id);
      if (!entry) return false;
      entry.settle(reply.ret === 0 ? undefined : failed(`device refused ${entry.line.slice(entry.line.indexOf(':', 2) + 1)}: Return=${reply.ret}`));
      return true;
    },
    close() {
      for (const p of [...pending.values()]) p.settle(new DeviceCommandError('RB_ERR_DEVICE_FAILED', `driver for ${o.deviceId} stopped before the device confirmed`));
    },
  };
}
