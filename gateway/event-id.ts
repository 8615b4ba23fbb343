import { createHash } from 'node:crypto';
import { encodeTime, monotonicFactory } from 'ulid';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const nextUlid = monotonicFactory();

/** A fresh ULID for an event the device gave no stable key for. */
export function randomEventId(ts: number): string {
  return nextUlid(ts);
}

/**
 * A ULID whose 80 random bits are taken from a hash of the occurrence's stable key instead of a random
 * source. A device that pushes the same event twice (ISAPI devices re-post until they get a 200) then
 * yields the same id, and the hub's dedup by id stores it once. The time part stays the device time, so
 * ids still sort by time and a device whose serial counter restarts does not collide with old events.
 */
export function stableEventId(ts: number, key: string): string {
  const digest = createHash('sha256').update(key).digest();
  let random = '';
  // 16 base32 characters = 80 bits = the first 10 bytes of the digest, 5 bits at a time.
  let bits = 0;
  let acc = 0;
  for (let i = 0; i < 10; i++) {
    acc = (acc << 8) | digest[i]!;
    bits += 8;
    while (bits >= 5) {
      random += CROCKFORD[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return encodeTime(ts, 10) + random;
}
