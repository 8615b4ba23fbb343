import { signal } from '@preact/signals';

/**
 * The hub's clock as the browser sees it. Alert times are hub times; a phone whose clock runs a few
 * seconds behind the hub showed a fresh alert as "in 2 seconds" (issue 15). We bound the offset
 * (hub − browser) from two sources and correct only when the bounds say the clocks really differ:
 *
 * - the HTTP `Date` header (RFC 9110 §6.6.1: second precision, generated while the response was being
 *   made, so between our send and receive): offset ∈ [date − received, date + 1 s − sent];
 * - a push envelope's `at` (hub ms when sent, before we received it): offset ≥ at − received.
 *
 * The estimate is 0 when 0 lies within the bounds, else the nearer bound. Bounds that contradict each
 * other (a clock was set) start over from the newest observation.
 */
let lo = -Infinity;
let hi = Infinity;

/** Current estimate of hub time − browser time, ms (a signal: ages re-render when it moves). */
export const clockOffset = signal(0);

function settle(): void {
  const next = lo > 0 ? lo : hi < 0 ? hi : 0;
  // Sub-second moves are noise for ages shown in seconds; do not re-render for them.
  if (Math.abs(next - clockOffset.value) >= 500) clockOffset.value = Math.round(next);
}

function narrow(newLo: number, newHi: number): void {
  if (newLo > hi || newHi < lo) {
    lo = newLo;
    hi = newHi;
  } else {
    lo = Math.max(lo, newLo);
    hi = Math.min(hi, newHi);
  }
  settle();
}

/** A response's `Date` header, with when the request was sent and the answer received (browser ms). */
export function noteServerDate(header: string | null, sentAt: number, receivedAt: number): void {
  if (!header) return;
  const date = Date.parse(header);
  if (!Number.isFinite(date)) return;
  narrow(date - receivedAt, date + 1_000 - sentAt);
}

/** A push stamped `at` by the hub, received now. */
export function noteServerTime(at: number, receivedAt = Date.now()): void {
  if (!Number.isFinite(at) || at <= 0) return;
  narrow(at - receivedAt, Infinity);
}

/** The hub's time now, as well as the browser can tell. */
export const serverNow = (): number => Date.now() + clockOffset.value;
