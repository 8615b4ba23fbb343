/** Keys every hub process shares (migration `0008_hub_keys`): the token signing key (`jwt`, base64), the Web Push VAPID pair (`webpush.vapid`, JSON). */
export interface HubKeysTable {
  name: string;
  value: string;
  created_at: number;
}

export interface KeysSchema {
  hub_keys: HubKeysTable;
}
