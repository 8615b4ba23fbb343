/** The newest log position of each partition (migration `0013_partitions`; hub/eventlog/log.ts). */
export interface LogHeadsTable {
  part: number;
  head: number;
}

/** One lease per partition (migration `0013_partitions`; hub/cluster/leases.ts). */
export interface PartitionLeasesTable {
  part: number;
  owner: string | null;
  epoch: number;
  /** Database clock, ms. */
  expires_at: number;
}

/** The owner's rule memory per estate at a log position (migration `0018_rule_checkpoints`; hub/alerts/checkpoint.ts). */
export interface RuleCheckpointsTable {
  estate: string;
  part: number;
  pos: number;
  /** RuleMemory's EstateMemory, JSON. */
  memory: string;
  at: number;
}

/** Which hub node holds each gateway's video relay link (migration `0020_video_relays`; hub/video/relays.ts). */
export interface VideoRelaysTable {
  estate: string;
  gateway: string;
  node_id: string;
  /** This link's id: only its own node's renewal or release touches the row. */
  link_id: string;
  /** The link's `hello` cameras, JSON (null until it came). */
  hello: string | null;
  since: number;
  /** Database clock on PostgreSQL, ms. */
  expires_at: number;
}

export interface ClusterSchema {
  log_heads: LogHeadsTable;
  partition_leases: PartitionLeasesTable;
  rule_checkpoints: RuleCheckpointsTable;
  video_relays: VideoRelaysTable;
}
