import { describe, expect, it } from 'vitest';
import { createLiveState, type LiveChange } from '../../web/src/live-state.js';

/** web/src/live-state.ts: a REST answer and the pushes that came while it was on its way. */
interface Item {
  id: string;
  assignee?: string;
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function harness(initial: Item[] = []) {
  let value = initial;
  const live = createLiveState<Item[]>((fn: LiveChange<Item[]>) => void (value = fn(value)));
  const upsert = (a: Item) => live.change((list) => [a, ...list.filter((x) => x.id !== a.id)]);
  return { live, upsert, value: () => value };
}

describe('live state: REST answers and pushes', () => {
  it('a push during a reload survives the older answer (the phone kept its assignment)', async () => {
    const h = harness([{ id: 'a1' }]);
    const answer = deferred<Item[]>();
    const loading = h.live.load(() => answer.promise);
    h.upsert({ id: 'a1', assignee: 'user:vol' });
    expect(h.value()).toEqual([{ id: 'a1', assignee: 'user:vol' }]);
    // The hub served the list before the assignment.
    answer.resolve([{ id: 'a1' }, { id: 'a2' }]);
    await loading;
    expect(h.value()).toEqual([{ id: 'a1', assignee: 'user:vol' }, { id: 'a2' }]);
  });

  it('changes made before the load was sent are not applied again; a removal during the load stays removed', async () => {
    const h = harness();
    h.upsert({ id: 'old' });
    const answer = deferred<Item[]>();
    const loading = h.live.load(() => answer.promise);
    h.live.change((list) => list.filter((x) => x.id !== 'gone'));
    answer.resolve([{ id: 'gone' }, { id: 'kept' }]);
    await loading;
    expect(h.value()).toEqual([{ id: 'kept' }]);
  });

  it('an answer to an earlier load that comes after a later one is dropped; each load keeps what came while it was out', async () => {
    const h = harness();
    const first = deferred<Item[]>();
    const second = deferred<Item[]>();
    const a = h.live.load(() => first.promise);
    h.upsert({ id: 'p1', assignee: 'x' });
    const b = h.live.load(() => second.promise);
    h.upsert({ id: 'p2' });
    second.resolve([{ id: 'p1', assignee: 'x' }]);
    await b;
    expect(h.value()).toEqual([{ id: 'p2' }, { id: 'p1', assignee: 'x' }]);
    first.resolve([]);
    await a;
    expect(h.value()).toEqual([{ id: 'p2' }, { id: 'p1', assignee: 'x' }]);
    // Nothing is recorded once no load is out.
    h.upsert({ id: 'p3' });
    const c = h.live.load(() => Promise.resolve([{ id: 'fresh' }]));
    await c;
    expect(h.value()).toEqual([{ id: 'fresh' }]);
  });

  it('a failed load leaves the value as it is and rejects with its error', async () => {
    const h = harness([{ id: 'a1' }]);
    const answer = deferred<Item[]>();
    const loading = h.live.load(() => answer.promise);
    h.upsert({ id: 'a2' });
    answer.reject(new Error('HTTP 503'));
    await expect(loading).rejects.toThrow('HTTP 503');
    expect(h.value()).toEqual([{ id: 'a2' }, { id: 'a1' }]);
  });
});
