import { localTime, toMinute, zonedInstant } from '../../lib/zoned.js';
import type { PatrolPointState, PatrolRunState } from '../../protocol/patrol.js';

/**
 * The pure part of patrol rounds: when a round's runs start, when each checkpoint is due, and what
 * state a run and its points are in at an instant. No clock, no I/O (the service owns both).
 */

export interface RoundPlan {
  starts: readonly string[];
  /** When the round was last defined: no run starts more than SLACK_MS before it (no alerts for the past). */
  updatedAt: number;
}

const DAY = 86_400_000;
/** A start this long before the round was defined still runs (a round set up at 08:04 for 08:00). */
const SLACK_MS = 5 * 60_000;

/**
 * Start instants of the round within `[from, to]`, ascending, never more than SLACK_MS before
 * `updatedAt` (a round created at 08:04 with a start "08:00" runs at 08:00; one created at 14:00
 * does not run at 08:00, which would raise its checkpoints as missed at once).
 */
export function runStarts(round: RoundPlan, from: number, to: number, timeZone: string): number[] {
  const out = new Set<number>();
  const floor = Math.max(from, round.updatedAt - SLACK_MS);
  // Local dates from the day before `from` to the day after `to`: a zone's day is not the UTC day.
  for (let day = from - DAY; day <= to + DAY; day += DAY) {
    const l = localTime(day, timeZone);
    for (const hm of round.starts) {
      const at = zonedInstant(l.year, l.month, l.day, toMinute(hm), timeZone);
      if (at >= floor && at <= to) out.add(at);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** A run's id: the same round at the same start is one run, whoever makes it. */
export const runId = (round: string, startsAt: number): string => `${round}.${startsAt}`;

/** When a point is due: its own offset, else the end of the window. */
export function dueAt(startsAt: number, windowMinutes: number, dueMinutes: number | undefined): number {
  return startsAt + Math.round((dueMinutes ?? windowMinutes) * 60_000);
}

export interface PointFacts {
  scannedAt: number | null;
  late: boolean;
  missedAt: number | null;
}

export function pointState(p: PointFacts): PatrolPointState {
  if (p.scannedAt !== null) return p.late ? 'late' : 'scanned';
  return p.missedAt !== null ? 'missed' : 'pending';
}

export function runState(startsAt: number, endsAt: number, points: readonly PointFacts[], now: number): PatrolRunState {
  if (points.every((p) => p.scannedAt !== null)) return 'done';
  if (now < startsAt) return 'upcoming';
  return now <= endsAt ? 'active' : 'incomplete';
}

/** The local day `[start, end)` containing `at`. */
export function localDay(at: number, timeZone: string): { start: number; end: number } {
  const l = localTime(at, timeZone);
  return { start: zonedInstant(l.year, l.month, l.day, 0, timeZone), end: zonedInstant(l.year, l.month, l.day + 1, 0, timeZone) };
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A deterministic ULID (protocol/ids.ts) for the missed event of a run's checkpoint: the deadline as
 * its time part and 80 bits of a hash of the key as its random part. A restart, or a second node,
 * makes the same id, and the event log keeps one.
 */
export function deterministicUlid(at: number, digest: Uint8Array): string {
  let time = '';
  let t = at;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let bits = 0n;
  for (let i = 0; i < 10; i++) bits = (bits << 8n) | BigInt(digest[i]!);
  let rand = '';
  for (let i = 0; i < 16; i++) {
    rand = CROCKFORD[Number(bits & 31n)]! + rand;
    bits >>= 5n;
  }
  return time + rand;
}

/** A random code of `n` Crockford base32 characters (QR alphanumeric mode stores them compactly). */
export function randomCode(bytes: Uint8Array, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += CROCKFORD[bytes[i]! % 32];
  return out;
}
