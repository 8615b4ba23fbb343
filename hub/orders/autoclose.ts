import type { Logger } from 'pino';
import { RbError } from '../errors.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { WorkOrders } from './types.js';

/**
 * `orders.autoCloseAfter` (docs/work-orders.md "States and tiers"): a resolved order nobody rated is
 * closed by the hub that long after its resolution — the confirmed end the resident did not give. Each
 * close is an ordinary `close` by `system` (step, audit row, push). Every node may sweep: a close that
 * raced another node's (or a person's rating) is refused by the service and skipped here.
 */
export interface AutoCloseDeps {
  db: HubDatabase;
  orders: Pick<WorkOrders, 'change'>;
  /** ms after `resolved_at`. */
  afterMs: number;
  /** How often to look (default: a tenth of afterMs, between 1 min and 1 h). */
  everyMs?: number;
  log: Logger;
  now?: () => number;
}

/** Closed per sweep at most; the rest wait for the next one. */
const BATCH = 200;

export function createAutoClose(deps: AutoCloseDeps) {
  const now = deps.now ?? (() => Date.now());
  const everyMs = deps.everyMs ?? Math.min(3_600_000, Math.max(60_000, Math.floor(deps.afterMs / 10)));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  /** Close what is due now; resolves with how many this call closed. */
  async function sweep(): Promise<number> {
    const due = await deps.db.db
      .selectFrom('work_orders')
      .select('id')
      .where('state', '=', 'resolved')
      .where('rating', 'is', null)
      .where('resolved_at', '<=', now() - deps.afterMs)
      .orderBy('resolved_at', 'asc')
      .limit(BATCH)
      .execute();
    let closed = 0;
    for (const { id } of due) {
      try {
        await deps.orders.change(id, { action: 'close', note: 'auto' }, { kind: 'system' });
        closed++;
      } catch (err) {
        if (!(err instanceof RbError && err.code === 'RB_ERR_CONFLICT')) deps.log.warn({ err, order: id }, 'auto-close failed');
      }
    }
    if (closed > 0) deps.log.info({ closed }, 'resolved work orders closed without a rating');
    return closed;
  }

  const tick = (): void => {
    running ??= sweep()
      .catch((err: unknown) => {
        deps.log.warn({ err }, 'auto-close sweep failed');
        return 0;
      })
      .finally(() => (running = undefined));
  };

  return {
    sweep,
    start(): void {
      timer = setInterval(tick, everyMs);
      timer.unref();
      tick();
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
