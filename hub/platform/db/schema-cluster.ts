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

export interface ClusterSchema {
  log_heads: LogHeadsTable;
  partition_leases: PartitionLeasesTable;
  rule_checkpoints: RuleCheckpointsTable;
}
