import type { Logger } from 'pino';
import { ulid } from 'ulid';
import { Command, topics, type CommandResult } from '../../protocol/index.js';
import type { CommandResultPush } from '../../protocol/live.js';
import type { Audit, AuditInput } from '../audit.js';
import type { Broker } from '../broker/broker.js';
import { nothingSent } from '../broker/hub-publish.js';
import type { Bus } from '../bus.js';
import { RbError } from '../errors.js';
import type { Push } from '../push/push.js';
import { COMMAND_TIMEOUT, type CommandRecord, type CommandStore } from './store.js';

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
  /**
   * The sender's audit entry (`command.send`): recorded once the row exists, whatever the publish
   * then does, and before a publish that sent nothing is recorded as `command.failed`.
   */
  audit?: AuditInput;
}

export interface Commands {
  /** Resume the answers from the log and start the expiry sweep. */
  start(): void;
  stop(): void;
  /**
   * Record a command (row `sent`, committed) and publish it. Its outcome is recorded, audited and
   * pushed to the estate (`command:result`) when the answer comes back through the log, by whichever
   * process runs then, or by the expiry sweep when none comes. A publish that sent nothing (cluster:
   * Redis lost after the check) fails the row at once (`error`, the refusal's code), then rejects.
   */
  issue(req: SendCommand): Promise<Command>;
  /** Throw RB_ERR_CLUSTER_UNAVAILABLE (503) when a command cannot reach the gateways now (cluster: Redis away). */
  assertAvailable(): void;
  /** issue(), and wait for the result (or reject when it expires without one): tests and tools. */
  send(req: SendCommand): Promise<{ command: Command; result: CommandResult }>;
  /** Publish a prepared command as is (re-sending an id, tests of expiry) and wait for a result. */
  publish(estate: string, gateway: string, command: Command, waitMs: number): Promise<CommandResult>;
  /** Expire overdue commands now (the sweep's work; tests). */
  sweep(): Promise<void>;
  /** One command's row: state, answer, times. */
  get(id: string): Promise<CommandRecord | undefined>;
}

export interface CommandsDeps {
  broker: Broker;
  /** The log consumer `commands`: its cursor makes every answer settle its command once, across restarts. */
  bus: Bus;
  store: CommandStore;
  /** The outbox: a command's outcome, its audit entry and its push commit together. */
  push: Pick<Push, 'transaction'>;
  audit: Pick<Audit, 'recordIn' | 'record'>;
  log: Logger;
  /** How long after its expiry a command without an answer is given up (default 5 s: the answer may be on its way). */
  graceMs?: number;
  /** How often the sweep looks (default 1 s). */
  sweepMs?: number;
  /**
   * Re-read the rows of the commands waited on here this often (default: never). In a cluster the
   * answer comes back through the node the gateway is connected to, which settles the row; the waiter
   * is on the node that sent the command. One query per tick for all of them, only while any waits.
   */
  pollMs?: number;
  now?: () => number;
}

/** `message`: why the hub failed a command it could not send (its row keeps only the code). */
const toPush = (r: CommandRecord, message?: string): CommandResultPush => ({
  id: r.id,
  estate: r.estate,
  device: r.device,
  name: r.name,
  actor: r.actor.id,
  ...(r.state === 'expired'
    ? { error: { code: COMMAND_TIMEOUT, message: `no result for command ${r.id} before it expired` } }
    : r.result
      ? { result: r.result }
      : r.state === 'error'
        ? { error: { code: r.code ?? 'RB_ERR_INTERNAL', message: message ?? `command ${r.id} failed at the hub` } }
        : {}),
});

/**
 * The one path back from the hub to devices: builds commands with an id, an expiry and an actor,
 * records each in the commands table, publishes it on the device's `cmd` topic (QoS 1; a gateway
 * with a persistent session gets it after a reconnect) and settles it from the gateway's
 * `cmd/result`, which arrives through the event log: the table, the audit entry and the
 * `command:result` push commit in one transaction. No promise in a route handler holds the outcome.
 */
export function createCommands(deps: CommandsDeps): Commands {
  const { store, log } = deps;
  const now = deps.now ?? (() => Date.now());
  const graceMs = deps.graceMs ?? 5_000;
  const sweepMs = deps.sweepMs ?? 1_000;
  const waiting = new Map<string, Set<{ resolve: (r: CommandResult) => void; reject: (e: Error) => void }>>();
  let off: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> = Promise.resolve();
  let polling: NodeJS.Timeout | undefined;

  function schedulePoll(): void {
    if (!deps.pollMs || polling || waiting.size === 0) return;
    polling = setTimeout(() => {
      store
        .settled([...waiting.keys()])
        .then((rows) => {
          for (const r of rows) {
            if (r.state === 'expired') settleWaiters(r.id, (w) => w.reject(new RbError('RB_ERR_COMMAND_TIMEOUT', `no result for command ${r.id} before it expired`)));
            else if (r.result) {
              const result = r.result;
              settleWaiters(r.id, (w) => w.resolve(result));
            }
          }
        })
        .catch((err: unknown) => log.warn({ err }, 'command rows not re-read; will retry'))
        .finally(() => {
          polling = undefined;
          schedulePoll();
        });
    }, deps.pollMs);
    polling.unref?.();
  }

  function wait(id: string, waitMs: number): Promise<CommandResult> {
    return new Promise<CommandResult>((resolve, reject) => {
      let set = waiting.get(id);
      if (!set) waiting.set(id, (set = new Set()));
      const w = {
        resolve: (r: CommandResult) => {
          clearTimeout(t);
          set.delete(w);
          if (set.size === 0) waiting.delete(id);
          resolve(r);
        },
        reject: (e: Error) => {
          clearTimeout(t);
          set.delete(w);
          if (set.size === 0) waiting.delete(id);
          reject(e);
        },
      };
      const t = setTimeout(() => w.reject(new RbError('RB_ERR_COMMAND_TIMEOUT', `no result for command ${id} within ${waitMs} ms`)), waitMs);
      set.add(w);
      schedulePoll();
    });
  }
  const settleWaiters = (id: string, f: (w: { resolve: (r: CommandResult) => void; reject: (e: Error) => void }) => void): void => {
    for (const w of [...(waiting.get(id) ?? [])]) f(w);
  };

  async function onResult(estate: string, gateway: string, result: CommandResult): Promise<void> {
    const at = now();
    const change = await deps.push.transaction(async (trx, out) => {
      const c = await store.finish(estate, result, at, trx);
      if (c?.changed) {
        const r = c.record;
        await deps.audit.recordIn(trx, {
          actor: r.actor.id,
          action: 'command.result',
          estate,
          target: `device:${r.device}`,
          detail: { id: r.id, name: r.name, status: result.status, code: result.code ?? null },
          at,
        });
        await out.toEstate(estate, 'command:result', toPush(r), at);
      }
      return c;
    });
    if (!change) log.warn({ id: result.id, estate, gateway }, 'result for a command this hub has no record of');
    // Every answer reaches whoever waits on its id: a duplicate answer is news to a second sender.
    settleWaiters(result.id, (w) => w.resolve(result));
  }

  async function sweep(): Promise<void> {
    const at = now();
    const expired = await deps.push.transaction(async (trx, out) => {
      const rows = await store.expire(at - graceMs, at, 500, trx);
      for (const r of rows) {
        await deps.audit.recordIn(trx, {
          actor: r.actor.id,
          action: 'command.failed',
          estate: r.estate,
          target: `device:${r.device}`,
          detail: { id: r.id, name: r.name, code: COMMAND_TIMEOUT },
          at,
        });
        await out.toEstate(r.estate, 'command:result', toPush(r), at);
      }
      return rows;
    });
    for (const r of expired) {
      log.warn({ id: r.id, estate: r.estate, gateway: r.gateway, device: r.device, name: r.name }, 'command expired without a result');
      settleWaiters(r.id, (w) => w.reject(new RbError('RB_ERR_COMMAND_TIMEOUT', `no result for command ${r.id} before it expired`)));
    }
  }

  /**
   * The row of a command this call recorded, whose publish then failed: if nothing was sent, it can
   * never reach the gateway, so it fails now (state `error`, the refusal's code, audited, pushed as
   * `command:result`) instead of staying `sent` until the expiry sweep. A publish that may still
   * arrive (a Redis that did not answer in time) leaves it `sent`: the gateway's answer or the sweep
   * settles it. Never throws: the caller rethrows the publish's error.
   */
  async function failUnsent(estate: string, gateway: string, command: Command, err: unknown): Promise<void> {
    if (!nothingSent(err)) return;
    const at = now();
    const code = (err as RbError).code;
    const message = (err as Error).message;
    try {
      await deps.push.transaction(async (trx, out) => {
        const r = await store.fail(command.id, code, at, trx);
        if (!r) return;
        await deps.audit.recordIn(trx, { actor: r.actor.id, action: 'command.failed', estate, target: `device:${r.device}`, detail: { id: r.id, name: r.name, code, message }, at });
        await out.toEstate(estate, 'command:result', toPush(r, message), at);
      });
      log.warn({ id: command.id, estate, gateway, device: command.device, name: command.name, code }, 'command recorded but not sent: failed at once');
    } catch (e) {
      log.error({ err: e, id: command.id, estate }, 'command not sent, and its row could not be failed: it stays sent until it expires');
    }
  }

  async function publish(estate: string, gateway: string, command: Command, waitMs: number): Promise<CommandResult> {
    const result = wait(command.id, waitMs);
    let created = false;
    try {
      availableOrThrow();
      created = await store.create(estate, gateway, command);
      await deps.broker.publish(topics.cmd(estate, gateway, command.device), JSON.stringify(command), 1);
      log.info({ id: command.id, estate, gateway, device: command.device, name: command.name, actor: command.actor.id }, 'command sent');
    } catch (err) {
      // A re-sent id keeps its row: an earlier publish of it may have gone out.
      if (created) await failUnsent(estate, gateway, command, err);
      settleWaiters(command.id, (w) => w.reject(err as Error));
    }
    return result;
  }

  /** Refuse before recording a command that could not be sent (the cluster's Redis is away). */
  function availableOrThrow(): void {
    if (!deps.broker.available()) throw new RbError('RB_ERR_CLUSTER_UNAVAILABLE', "the cluster's Redis (cluster.redisUrl) is unreachable: the command cannot reach the gateway; try again when it is back");
  }

  function build(req: SendCommand): Command {
    const at = now();
    return Command.parse({
      v: 1,
      id: req.id ?? ulid(at),
      device: req.device,
      name: req.name,
      args: req.args ?? {},
      issuedAt: at,
      expiresAt: at + (req.ttlMs ?? 30_000),
      actor: req.actor,
    });
  }

  return {
    start() {
      off = deps.bus.on('command.result', ({ estate, gateway, result }) => onResult(estate, gateway, result));
      const tick = (): void => {
        sweeping = sweep()
          .catch((err: unknown) => log.error({ err }, 'command expiry sweep failed'))
          .finally(() => {
            if (off) timer = setTimeout(tick, sweepMs);
          });
      };
      timer = setTimeout(tick, sweepMs);
    },
    stop() {
      off?.();
      off = undefined;
      clearTimeout(timer);
      clearTimeout(polling);
      void sweeping;
    },
    async issue(req) {
      const command = build(req);
      availableOrThrow();
      const created = await store.create(req.estate, req.gateway, command);
      let failure: { err: unknown } | undefined;
      try {
        await deps.broker.publish(topics.cmd(req.estate, req.gateway, command.device), JSON.stringify(command), 1);
      } catch (err) {
        failure = { err };
      }
      if (req.audit) await deps.audit.record(req.audit);
      if (failure) {
        if (created) await failUnsent(req.estate, req.gateway, command, failure.err);
        throw failure.err;
      }
      log.info({ id: command.id, estate: req.estate, gateway: req.gateway, device: command.device, name: command.name, actor: command.actor.id }, 'command sent');
      return command;
    },
    async send(req) {
      const command = build(req);
      const result = await publish(req.estate, req.gateway, command, command.expiresAt - command.issuedAt + graceMs + sweepMs);
      return { command, result };
    },
    publish,
    assertAvailable: availableOrThrow,
    sweep,
    get: (id) => store.get(id),
  };
}
