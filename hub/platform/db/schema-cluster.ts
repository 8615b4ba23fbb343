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

export interface ClusterSchema {
  log_heads: LogHeadsTable;
  partition_leases: PartitionLeasesTable;
}
