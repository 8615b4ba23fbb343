/**
 * Pacing of the PullMessages loop. A conforming device holds a PullMessages call until a message
 * arrives or the requested Timeout ends (ONVIF Core Spec §9.2, PullMessages: the device answers
 * when messages are available or the timeout is reached); some firmware answers at once with nothing.
 * Pulling again at once then turns into a busy loop (observed: ~2,800 requests/s, 82-90 % of the
 * gateway's CPU, the camera hammered too). The pacer spaces pulls after an early empty answer: at
 * least `minGapMs` between the starts of two pulls, doubling while the device keeps answering early,
 * up to `maxGapMs`; a pull the device held (or one that brought messages) ends the backoff. After
 * `warnAfter` early answers in a row the device is reported as misbehaving, until it holds a pull.
 *
 * Pure: no clock, no timers; the driver feeds each pull's outcome and sleeps what it is told.
 */
export interface PacerOptions {
  /** The Timeout asked for in each PullMessages, ms. */
  requestedMs: number;
  minGapMs?: number;
  maxGapMs?: number;
  warnAfter?: number;
}

export interface PullOutcome {
  /** Milliseconds the device took to answer. */
  elapsedMs: number;
  messages: number;
}

export class PullPacer {
  private readonly earlyBelowMs: number;
  private readonly minGapMs: number;
  private readonly maxGapMs: number;
  private readonly warnAfter: number;
  /** Early empty answers in a row. */
  private streak = 0;
  /** Early empty answers since start. */
  early = 0;
  misbehaving = false;

  constructor(o: PacerOptions) {
    // "Early": back well before the time asked for, and faster than any network round trip to a
    // device that really waited (a device may cap Timeout lower than asked: 1 s is not early).
    this.earlyBelowMs = Math.min(1_000, o.requestedMs / 2);
    this.minGapMs = o.minGapMs ?? 1_000;
    this.maxGapMs = o.maxGapMs ?? 8_000;
    this.warnAfter = o.warnAfter ?? 3;
  }

  /**
   * Record one answered pull. Returns how long to wait before the next one (ms) and whether the
   * misbehaving flag just changed (`'raised'` / `'cleared'`).
   */
  record(p: PullOutcome): { waitMs: number; change?: 'raised' | 'cleared' } {
    if (p.messages > 0) return { waitMs: 0 }; // news: pull again at once, whatever the pacing
    if (p.elapsedMs >= this.earlyBelowMs) {
      this.streak = 0;
      if (!this.misbehaving) return { waitMs: 0 };
      this.misbehaving = false;
      return { waitMs: 0, change: 'cleared' };
    }
    this.early += 1;
    this.streak += 1;
    const gap = Math.min(this.maxGapMs, this.minGapMs * 2 ** Math.min(this.streak - 1, 16));
    const waitMs = Math.max(0, gap - p.elapsedMs);
    if (!this.misbehaving && this.streak >= this.warnAfter) {
      this.misbehaving = true;
      return { waitMs, change: 'raised' };
    }
    return { waitMs };
  }
}
