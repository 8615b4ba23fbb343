/**
 * The order of one device's events, as its gateway saw them: the envelope's `seq` (EnvelopeBase).
 *
 * Arrival order is not event order: after a backlog the gateway's outbox replays its alarm lane
 * before its routine lane (gateway/outbox.ts `read`), so a device's `door.forced` reaches the hub
 * before the older `door.closed` it followed. Device time (`ts`) cannot order them either: cheap
 * devices report whole seconds, and opened / closed / forced often share one. `seq` is taken from
 * the gateway outbox when the gateway accepts the event (gateway/main.ts `accept`), is monotonic per
 * gateway and survives gateway restarts (a persisted high-water mark, gateway/outbox-sqlite.ts), so
 * two events of one device through one gateway compare by it.
 *
 * Two cases where seqs do not compare, both decided here so every consumer decides the same:
 * - Another gateway (the device moved): its own counter. The later arrival wins, as before seqs.
 * - A new epoch of the same gateway: its data dir was wiped (or its outbox db lost), so `seq`
 *   starts again from 1. An event with a lower seq but a device time more than EPOCH_GAP_MS newer
 *   than the mark is taken as the first of a new epoch, not as an old one. A genuinely older event
 *   has the older (or, within a second, equal) device time; only a device clock set back by more than
 *   EPOCH_GAP_MS between two reordered events could be mistaken for a new epoch. The cost the other
 *   way: right after a wipe, a door that was used less than EPOCH_GAP_MS before it ignores the new
 *   gateway's events until their device time passes the gap.
 */

/** What a consumer remembers of the last event it applied for one thing (a door, a lane). */
export interface OrderMark {
  gateway: string;
  seq: number;
  /** Device time, only to recognise a new seq epoch. */
  ts: number;
}

/** A device time this much newer than the mark, with a lower seq, starts a new epoch (see above). */
export const EPOCH_GAP_MS = 5 * 60_000;

/** The mark of an event, to keep beside what it set. */
export const markOf = (e: OrderMark): OrderMark => ({ gateway: e.gateway, seq: e.seq, ts: e.ts });

/**
 * Whether `e` is older than the event behind `mark` in its gateway's order, so it must not clear or
 * overwrite what that event raised or set. An equal seq is the same event again (the hub's dedup
 * already dropped true duplicates): not older.
 */
export function isOlder(mark: OrderMark | undefined, e: OrderMark): boolean {
  if (!mark || mark.gateway !== e.gateway) return false;
  if (e.seq >= mark.seq) return false;
  return e.ts <= mark.ts + EPOCH_GAP_MS;
}
