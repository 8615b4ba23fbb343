/** A change a push (or the answer to an action) makes to what a view shows: pure, applied to any value. */
export type LiveChange<T> = (value: T) => T;

export interface LiveState<T> {
  /** Apply a live change now, and again on top of the answer of every load in flight. */
  change(fn: LiveChange<T>): void;
  /**
   * Load over REST (`fetch`) and show the answer with the live changes made meanwhile on top of it.
   * Rejects with `fetch`'s error (the value is then left as it is).
   */
  load(fetch: () => Promise<T>): Promise<void>;
}

/**
 * What a view loads over REST and keeps live with pushes (docs/alerts.md "Live push"; the hook is
 * `useLiveState` in live.ts). A REST answer is the hub's state when it served the request; a push
 * that arrives while the answer is on its way may be newer than that answer, and setting the answer
 * as it came dropped it (the phone lost an assignment pushed during its first-connect reload). So
 * every live change goes through `change`: it is applied at once and recorded by each load in
 * flight, and when a load answers, the changes recorded since it was sent are applied again on top
 * of the answer, in the order they came.
 *
 * The payloads carry no version to compare (an alert has no updated time), and none is needed:
 * pushes of a scope arrive in order, so re-applying one the answer already holds can only put back a
 * state that a later push, still to come, moves on again. An answer to a load sent before another
 * load that has already answered is dropped: the later one is newer.
 */
export function createLiveState<T>(set: (fn: LiveChange<T>) => void): LiveState<T> {
  const inFlight = new Set<LiveChange<T>[]>();
  let sent = 0;
  let shown = 0;
  return {
    change(fn) {
      for (const recorded of inFlight) recorded.push(fn);
      set(fn);
    },
    async load(fetch) {
      const mine = ++sent;
      const recorded: LiveChange<T>[] = [];
      inFlight.add(recorded);
      try {
        const answer = (await fetch()) as T;
        if (mine < shown) return;
        shown = mine;
        set(() => recorded.reduce((v, fn) => fn(v), answer));
      } finally {
        inFlight.delete(recorded);
      }
    },
  };
}
