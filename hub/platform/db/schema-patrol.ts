/**
 * Tables of patrol rounds (巡更, issue 19; migration 0017_patrol; docs/work-orders.md "Patrol rounds").
 * Times are ms since the epoch.
 */

/** A place a patrol must pass, with the random code its printed QR carries. */
export interface PatrolCheckpointTable {
  id: string;
  estate: string;
  name: string;
  location: string;
  /** Random, unguessable (base32, 12 characters); unique over every estate. */
  code: string;
  created_at: number;
  updated_at: number;
}

/** A round: ordered checkpoints, daily start times (local, hub time zone), a window. */
export interface PatrolRoundTable {
  id: string;
  estate: string;
  name: string;
  /** JSON `[{checkpoint, dueMinutes}]`, in the order they are walked. */
  points: string;
  /** JSON `["HH:MM", …]`. */
  starts: string;
  window_minutes: number;
  enabled: number;
  created_at: number;
  updated_at: number;
}

/** The round at one scheduled start. Its id is `<round>.<startsAt>`: two nodes (or a restart) make the same run once. */
export interface PatrolRunTable {
  id: string;
  round_id: string;
  estate: string;
  round_name: string;
  starts_at: number;
  ends_at: number;
}

/** One checkpoint of one run: due by `due_at`; scanned (maybe late) or missed. */
export interface PatrolScanTable {
  run_id: string;
  checkpoint: string;
  estate: string;
  seq: number;
  checkpoint_name: string;
  location: string;
  due_at: number;
  scanned_at: number | null;
  user_id: string | null;
  user_name: string | null;
  late: number;
  /** When the hub raised patrol.missed for it (the event appended in the same transaction). */
  missed_at: number | null;
}

export interface PatrolSchema {
  patrol_checkpoints: PatrolCheckpointTable;
  patrol_rounds: PatrolRoundTable;
  patrol_runs: PatrolRunTable;
  patrol_scans: PatrolScanTable;
}
