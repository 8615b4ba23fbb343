import { PARTITION_COUNT } from '../platform/db/migrations/cluster.js';

export { PARTITION_COUNT };

const encoder = new TextEncoder();
const cache = new Map<string, number>();

/**
 * The partition of an estate: FNV-1a (32 bit) of its id's UTF-8 bytes, modulo PARTITION_COUNT.
 * Stable across releases and nodes (it decides which rows a partition's owner reads): never change
 * the function or the count without a migration that rewrites `event_log.part`.
 */
export function partitionOf(estate: string): number {
  let p = cache.get(estate);
  if (p !== undefined) return p;
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(estate)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  p = h % PARTITION_COUNT;
  if (cache.size > 100_000) cache.clear();
  cache.set(estate, p);
  return p;
}
