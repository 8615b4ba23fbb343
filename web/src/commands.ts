import { api, ApiError } from './api.js';
import { onLive } from './live.js';
import type { CommandResultPush } from './types.js';

/**
 * Commands that tell the truth (issue 15). `POST /api/v1/commands` answers `202 {id}` and the device's
 * result is pushed as `command:result`; on a fast device the push can arrive before the 202, and the
 * phone used to drop it and report "no result within 20 s" while the audit had the answer within 8 ms.
 * Here every pushed result is kept for a minute by command id, so a command settles on whichever comes
 * first: a result in the REST answer, a result pushed before or after it, or the deadline.
 */
export interface Outcome {
  ok: boolean;
  /** A coded reason (RB_ERR_DEVICE_FAILED, RB_ERR_COMMAND_TIMEOUT, …), shown in words (labels.ts). */
  code?: string;
  /** The device's or the hub's own words, shown beneath as they came. */
  message?: string;
  /** HTTP status when the hub refused the request itself. */
  status?: number;
}

export interface CommandRequest {
  estate: string;
  device: string;
  name: string;
  args: Record<string, unknown>;
}

/** The hub waits ttl 30 s + 5 s and then pushes RB_ERR_COMMAND_TIMEOUT; wait a little longer than that. */
export const RESULT_WAIT_MS = 40_000;
const KEEP_MS = 60_000;

const early = new Map<string, { outcome: Outcome; at: number }>();
const waiting = new Map<string, (o: Outcome) => void>();

/** A pushed `command:result` (device answer) or its hub-side failure (`error`), as an outcome. */
export function toOutcome(push: Omit<Partial<CommandResultPush>, 'error'> & { error?: { code?: string; message?: string } }): Outcome {
  if (push.error) return { ok: false, ...(push.error.code ? { code: push.error.code } : {}), ...(push.error.message ? { message: push.error.message } : {}) };
  const r = push.result;
  if (!r) return { ok: false, code: 'RB_ERR_INTERNAL' };
  return r.status === 'ok' ? { ok: true } : { ok: false, ...(r.code ? { code: r.code } : {}), ...(r.message ? { message: r.message } : {}) };
}

function deliver(id: string, outcome: Outcome): void {
  const waiter = waiting.get(id);
  if (waiter) return waiter(outcome);
  const now = Date.now();
  for (const [k, v] of early) if (now - v.at > KEEP_MS) early.delete(k);
  early.set(id, { outcome, at: now });
}

onLive('command:result', (push) => {
  if (push && typeof push.id === 'string') deliver(push.id, toOutcome(push));
});

/** Send a command and settle on its first answer; never rejects. */
export async function runCommand(req: CommandRequest, waitMs = RESULT_WAIT_MS): Promise<Outcome> {
  let res: { id?: string; result?: CommandResultPush['result']; error?: { code?: string; message?: string } };
  try {
    res = await api('/api/v1/commands', { method: 'POST', body: req });
  } catch (err) {
    if (err instanceof ApiError) return { ok: false, code: err.status === 0 ? 'NETWORK' : err.code || `HTTP_${err.status}`, ...(err.message ? { message: err.message } : {}), status: err.status };
    return { ok: false, message: (err as Error).message };
  }
  if (res.result || res.error) return toOutcome(res);
  const id = res.id;
  if (!id) return { ok: false, code: 'RB_ERR_INTERNAL' };
  const known = early.get(id);
  if (known) {
    early.delete(id);
    return known.outcome;
  }
  return new Promise<Outcome>((resolve) => {
    const timer = setTimeout(() => settle({ ok: false, code: 'RB_ERR_NO_RESULT' }), waitMs);
    function settle(o: Outcome) {
      clearTimeout(timer);
      waiting.delete(id!);
      resolve(o);
    }
    waiting.set(id, settle);
  });
}
