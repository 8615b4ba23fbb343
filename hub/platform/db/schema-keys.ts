/** Keys every hub process shares (migration `0008_hub_keys`): the token signing key (`jwt`, base64), the Web Push VAPID pair (`webpush.vapid`, JSON). */
export interface HubKeysTable {
  name: string;
  value: string;
  created_at: number;
}

/** Hub nodes (migration `0012_node_health`): rewritten by each readiness check (hub/platform/readiness.ts). */
export interface NodeHeartbeatsTable {
  node_id: string;
  beat_at: number;
  version: string;
}

export interface KeysSchema {
  hub_keys: HubKeysTable;
  node_heartbeats: NodeHeartbeatsTable;
}
