import type { Logger } from 'pino';
import type { PushEnvelope } from './log.js';

/**
 * Live envelopes of one node, put back in sequence per scope before they reach its sockets.
 *
 * With one writer (the embedded hub) they arrive in order already. In a hub cluster they come from
 * this node's commits and, through Redis, from the other nodes' commits: two nodes may write one
 * scope (a user's `alert:notify` from estates owned by two nodes), and Redis may lose messages while
 * it is away. Sequences are given under a per-scope lock in commit order (hub/push/log.ts), so an
 * envelope that arrives means every lower sequence of its scope is committed: a gap before it is
 * read back from the push log at once (when a socket of this node listens to that scope), and a late
 * or repeated envelope below what was emitted is dropped. Sockets therefore get each scope's
 * envelopes once, in order, with no gap but a real loss (a row pruned before it was read).
 */
export interface ScopeOrder {
  /** One committed envelope, from this node or another; emitted now, or once the ones before it are. */
  accept(env: PushEnvelope): void;
  /** The next sequence this node will emit for `scope`; undefined when it has seen none yet. */
  next(scope: string): number | undefined;
  /** Start `scope` after `last` when nothing of it was seen yet (a socket was just replayed up to it). */
  seed(scope: string, last: number): void;
  /** Read from the log what each listened scope may have missed (Redis came back); resolves when done. */
  catchUp(): Promise<number>;
  stats(): { filled: number; dropped: number; skipped: number };
}

export interface ScopeOrderDeps {
  /** Emit to this node's sockets (in sequence per scope). */
  emit(env: PushEnvelope): void;
  /** Whether a socket of this node listens to `scope` now (or is being replayed it). */
  listening(scope: string): boolean;
  /** The push log: committed envelopes of `scope` above `after` and below `before`, at most `limit`. */
  read(scope: string, after: number, limit: number, before?: number): Promise<PushEnvelope[] | null>;
  log: Logger;
  /** Scopes tracked at most (then forgotten all at once and learnt again); default 100,000. */
  maxScopes?: number;
  /** Envelopes read back per gap or catch-up at most; default 5,000. */
  maxRead?: number;
}

interface ScopeState {
  next: number;
  /** Arrived ahead of `next`, waiting for the gap before them to be read. */
  held: Map<number, PushEnvelope> | undefined;
  reading: boolean;
}

export function createScopeOrder(deps: ScopeOrderDeps): ScopeOrder {
  const { emit, listening, read, log } = deps;
  const maxScopes = deps.maxScopes ?? 100_000;
  const maxRead = deps.maxRead ?? 5000;
  const states = new Map<string, ScopeState>();
  let filled = 0;
  let dropped = 0;
  let skipped = 0;

  const lowest = (held: Map<number, PushEnvelope>): number => {
    let m = Infinity;
    for (const k of held.keys()) if (k < m) m = k;
    return m;
  };

  function stateOf(scope: string, next: number): ScopeState {
    let st = states.get(scope);
    if (!st) {
      if (states.size >= maxScopes) states.clear();
      st = { next, held: undefined, reading: false };
      states.set(scope, st);
    }
    return st;
  }

  function drain(scope: string, st: ScopeState): void {
    const held = st.held;
    if (!held) return;
    for (let env = held.get(st.next); env; env = held.get(st.next)) {
      held.delete(st.next);
      st.next++;
      emit(env);
    }
    if (held.size === 0) {
      st.held = undefined;
      return;
    }
    if (st.reading) return;
    const upTo = lowest(held);
    if (!listening(scope)) {
      // Nobody here shows this scope: nothing to read back, go on from what arrived.
      skipped += upTo - st.next;
      st.next = upTo;
      drain(scope, st);
      return;
    }
    st.reading = true;
    const from = st.next;
    read(scope, from - 1, Math.min(upTo - from, maxRead), upTo).then(
      (rows) => {
        st.reading = false;
        // The late copies may have arrived meanwhile (and been emitted): only what is still held counts.
        const now = st.held;
        if (!now) return;
        for (const env of rows ?? []) if (env.seq >= st.next && !now.has(env.seq)) now.set(env.seq, env);
        filled += rows?.length ?? 0;
        if (!now.has(st.next)) {
          // More than maxRead missed, or pruned meanwhile: the sockets see the gap (their client reloads).
          const low = lowest(now);
          log.warn({ scope, from: st.next, to: low - 1 }, 'push envelopes missing from the log; sockets will see a gap');
          skipped += low - st.next;
          st.next = low;
        }
        drain(scope, st);
      },
      (err: unknown) => {
        st.reading = false;
        log.warn({ err, scope, from, to: upTo - 1 }, 'reading a push gap back failed; sockets will see a gap');
        skipped += upTo - st.next;
        st.next = Math.max(st.next, upTo);
        drain(scope, st);
      },
    );
  }

  const order: ScopeOrder = {
    accept(env) {
      const st = stateOf(env.scope, env.seq);
      if (env.seq < st.next) {
        dropped++;
        return;
      }
      if (env.seq === st.next && !st.held) {
        st.next++;
        emit(env);
        return;
      }
      (st.held ??= new Map()).set(env.seq, env);
      drain(env.scope, st);
    },
    next: (scope) => states.get(scope)?.next,
    seed(scope, last) {
      stateOf(scope, last + 1);
    },
    async catchUp() {
      let n = 0;
      for (const [scope, st] of [...states]) {
        if (st.reading || st.held || !listening(scope)) continue;
        try {
          const rows = await read(scope, st.next - 1, maxRead);
          for (const env of rows ?? []) order.accept(env);
          n += rows?.length ?? 0;
        } catch (err) {
          log.warn({ err, scope }, 'push catch-up read failed');
        }
      }
      filled += n;
      return n;
    },
    stats: () => ({ filled, dropped, skipped }),
  };
  return order;
}
