/**
 * Patrol rounds (巡更, issue 19; docs/work-orders.md "Patrol rounds"): the views the REST API answers
 * and the phone view reads. Plain types only: the browser bundle imports this file.
 */

/** A place a patrol passes; its printed QR code carries `url` (`{publicUrl}/p/{code}`). */
export interface PatrolCheckpointView {
  id: string;
  estate: string;
  name: string;
  location: string;
  /** Random; what the QR code carries. Shown to center and admin only (a volunteer scans it). */
  code?: string;
  createdAt: number;
  updatedAt: number;
}

/** One checkpoint of a round, due `dueMinutes` after the run starts (absent: by the window's end). */
export interface PatrolRoundPoint {
  checkpoint: string;
  dueMinutes?: number;
}

export interface PatrolRoundView {
  id: string;
  estate: string;
  name: string;
  points: Array<PatrolRoundPoint & { name: string }>;
  /** Local start times "HH:MM" (the hub's time zone, config `timeZone`). */
  starts: string[];
  windowMinutes: number;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/** pending: not yet due or due and not scanned yet; scanned: in time; late: after its deadline; missed: the deadline passed (an alert was raised). */
export type PatrolPointState = 'pending' | 'scanned' | 'late' | 'missed';

export interface PatrolPointView {
  checkpoint: string;
  seq: number;
  name: string;
  location: string;
  dueAt: number;
  state: PatrolPointState;
  scannedAt?: number;
  userId?: string;
  userName?: string;
  missedAt?: number;
}

/** upcoming: not started; active: started, not over; done: every point scanned; incomplete: over with points missed. */
export type PatrolRunState = 'upcoming' | 'active' | 'done' | 'incomplete';

export interface PatrolRunView {
  id: string;
  round: string;
  roundName: string;
  estate: string;
  startsAt: number;
  endsAt: number;
  state: PatrolRunState;
  points: PatrolPointView[];
  /** The first checkpoint in order not scanned yet (while the run is not over). */
  next?: string;
}

/** What a scan answers. `matched: false`: the checkpoint is in no run that is on now. */
export interface PatrolScanResult {
  checkpoint: { id: string; estate: string; name: string; location: string };
  matched: boolean;
  duplicate: boolean;
  late: boolean;
  scannedAt?: number;
  run?: PatrolRunView;
}

/** A person's history: the points they scanned, newest first. */
export interface PatrolHistoryItem {
  run: string;
  round: string;
  roundName: string;
  estate: string;
  checkpoint: string;
  name: string;
  scannedAt: number;
  dueAt: number;
  late: boolean;
  userId: string;
  userName: string;
}
