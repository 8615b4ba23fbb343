/** Keys every hub process shares (migration `0008_hub_keys`): the token signing key, base64. */
export interface HubKeysTable {
  name: string;
  value: string;
  created_at: number;
}

export interface KeysSchema {
  hub_keys: HubKeysTable;
}
