/**
 * Token buckets: `rate` tokens a second, at most `burst` saved up. `reserve()` always succeeds and says
 * how long the caller must wait for its token (the bucket may go into debt), so callers served one
 * after another are spaced at exactly `rate` once the burst is spent. `tryTake()` never waits.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now = performance.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
  }

  /** Take one token; returns the ms to wait before using it (0 = now). */
  reserve(now = performance.now()): number {
    this.refill(now);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.rate;
  }

  /** Take one token if there is one. */
  tryTake(now = performance.now()): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * One bucket per key (a gateway, an IP address). At most `maxKeys` buckets are kept; the one used
 * longest ago goes first, so a flood of distinct keys costs bounded memory (a forgotten key starts
 * again with a full burst, which only errs on the generous side).
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxKeys = 10_000,
  ) {}

  get(key: string): TokenBucket {
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key); // re-insert: Map order is then least recently used first
    } else {
      bucket = new TokenBucket(this.rate, this.burst);
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, bucket);
    return bucket;
  }

  get size(): number {
    return this.buckets.size;
  }
}
