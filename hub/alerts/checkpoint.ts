import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import { partitionOf } from '../cluster/partition.js';
import type { ConsumerCheckpoint } from '../eventlog/feed.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { Schema } from '../platform/db/schema.js';
import type { EstateMemory, RuleMemory } from './memory.js';

/**
 * The alert rules' memory, checkpointed with the alerts consumer's log cursor (issue 18, cluster):
 * doors seen open, visitors in, offline timers, the alerts the rules raised. Without it a new owner
 * knew only the open alerts: a door opened before a hand-over and held across it was never judged
 * held.
 *
 * The event-log feed takes a checkpoint of a partition at most every `everyMs`, only when the memory
 * is exactly the state after the entries up to the cursor it saves with it (nothing in flight), in
 * the cursor's fenced transaction. A node taking the partition over restores the memory of its
 * estates and is fed from the checkpoint's position: the entries from there up to the cursor are
 * replayed into the memory without acting (their alerts were committed before the cursor passed
 * them), the rest as usual.
 */
export interface RuleCheckpoints extends ConsumerCheckpoint {
  /** The alert service's memory (bound once it exists). */
  attach(memory: { get(): RuleMemory; restore(estate: string, m: EstateMemory): void }): void;
  /** Whether the entry at `pos` of this estate's partition is replayed into the memory only. */
  replayOnly(estate: string, pos: number): boolean;
  forget(parts: readonly number[]): void;
}

export function createRuleCheckpoints(opts: { db: HubDatabase; log: Logger; everyMs?: number }): RuleCheckpoints {
  let memory: { get(): RuleMemory; restore(estate: string, m: EstateMemory): void } | undefined;
  /** Per partition: the cursor up to which entries are replayed without acting. */
  const replayUntil = new Map<number, number>();
  /** Per partition: the JSON last written (a partition whose memory did not change is not written again). */
  const lastWritten = new Map<number, string>();

  return {
    everyMs: opts.everyMs ?? 2_000,
    attach(m) {
      memory = m;
    },
    capture(part) {
      if (!memory) return undefined;
      const estates: Array<[string, string]> = [];
      for (const [estate, m] of Object.entries(memory.get().estates)) if (partitionOf(estate) === part) estates.push([estate, JSON.stringify(m)]);
      const key = estates.map(([e, j]) => `${e}\u0000${j}`).join('\u0001');
      // Unchanged: only the position moves (no replay of entries that changed nothing).
      return { estates, key, unchanged: key === lastWritten.get(part) };
    },
    async write(trx: Transaction<Schema>, part, pos, captured) {
      const c = captured as { estates: Array<[string, string]>; key: string; unchanged: boolean } | undefined;
      if (!c) return;
      const at = Date.now();
      if (c.unchanged) {
        await trx.updateTable('rule_checkpoints').set({ pos, at }).where('part', '=', part).where('pos', '<', pos).execute();
        return;
      }
      for (const [estate, json] of c.estates) {
        await trx
          .insertInto('rule_checkpoints')
          .values({ estate, part, pos, memory: json, at })
          .onConflict((oc) => oc.column('estate').doUpdateSet({ part, pos, memory: json, at }))
          .execute();
      }
    },
    written(part, captured) {
      const c = captured as { key: string } | undefined;
      if (c) lastWritten.set(part, c.key);
    },
    async resume(cursors) {
      const parts = [...cursors.keys()];
      const start = new Map<number, number>();
      if (parts.length === 0 || !memory) return start;
      const rows = await opts.db.db.selectFrom('rule_checkpoints').select(['estate', 'part', 'pos', 'memory']).where('part', 'in', parts).execute();
      for (const row of rows) {
        const part = Number(row.part);
        const cursor = cursors.get(part) ?? 0;
        const pos = Number(row.pos);
        // Newer than the cursor cannot be (they commit together); a row of an estate that moved
        // partitions (it cannot: the hash is fixed) or that is unreadable is skipped.
        if (pos > cursor || partitionOf(row.estate) !== part) continue;
        let m: EstateMemory;
        try {
          m = JSON.parse(row.memory) as EstateMemory;
        } catch {
          opts.log.warn({ estate: row.estate, part }, 'rule checkpoint unreadable; the estate starts from its open alerts');
          continue;
        }
        memory.restore(row.estate, m);
        start.set(part, Math.min(start.get(part) ?? pos, pos));
      }
      for (const [part, from] of start) {
        replayUntil.set(part, cursors.get(part) ?? 0);
        opts.log.debug({ part, from, cursor: cursors.get(part) }, 'rule memory restored from its checkpoint');
      }
      return start;
    },
    replayOnly(estate, pos) {
      const until = replayUntil.get(partitionOf(estate));
      return until !== undefined && pos <= until;
    },
    forget(parts) {
      for (const p of parts) {
        replayUntil.delete(p);
        lastWritten.delete(p);
      }
    },
  };
}
