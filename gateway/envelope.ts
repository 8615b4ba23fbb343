import type { RbEvent } from '../protocol/index.js';
import type { DraftEvent } from '../devices/types.js';
import { randomEventId, stableEventId } from './event-id.js';

/**
 * The envelope a gateway puts around what a driver reported (docs/protocol.md, "Event envelope"):
 * the estate, the gateway, the device, the outbox's `seq`, and the event id. A draft that carries a
 * `dedupKey` (a controller's serial number) gets an id derived from it, so the same record posted
 * twice by the device is one event; any other draft gets a fresh ULID.
 */
export function stampEvent(where: { estate: string; gateway: string }, device: string, draft: DraftEvent, seq: number): RbEvent {
  // The type is part of the key: a device whose serial counter restarted must not alias another event.
  const key = draft.dedupKey !== undefined ? `${where.estate}/${where.gateway}/${device}/${draft.type}/${draft.dedupKey}` : undefined;
  return {
    v: 1,
    id: key ? stableEventId(draft.ts, key) : randomEventId(draft.ts),
    seq,
    ts: draft.ts,
    estate: where.estate,
    gateway: where.gateway,
    device,
    type: draft.type,
    data: draft.data,
  } as RbEvent;
}
