import type { Generated } from 'kysely';

/**
 * The registry's tables (migration 0003_registry): streets, city-management grids, estates, the
 * gateways with their scrypt secret hashes, the devices their status reports, and the change log
 * a hub polls to hear what another process (the admin CLI) changed.
 */
export interface StreetTable {
  id: string;
  name: string | null;
}

export interface GridTable {
  id: string;
  street: string | null;
  name: string | null;
}

export interface EstateTable {
  id: string;
  street: string | null;
  grid: string | null;
  name: string | null;
}

export interface GatewayTable {
  estate: string;
  gateway: string;
  /** `{estate}.{gateway}`, the MQTT username (unique). */
  username: string;
  /** `scrypt$N$r$p$salt$key` (hub/registry-secrets.ts). */
  secret_hash: string;
  created_at: number;
  rotated_at: number | null;
  revoked_at: number | null;
}

export interface DeviceTable {
  estate: string;
  gateway: string;
  device: string;
  first_seen: number;
  last_seen: number;
  /** 0 or 1 (an integer on both engines). */
  online: number;
}

/** One row per registry write, in commit order by `id` on SQLite (see hub/registry.ts for PostgreSQL). */
export interface RegistryChangeTable {
  id: Generated<number>;
  /** `add` | `rotate` | `revoke` (gateway credentials), `street` | `grid` | `estate`. */
  kind: string;
  estate: string | null;
  gateway: string | null;
  /** The street or grid id for `street` / `grid`. */
  target: string | null;
  at: number;
}

export interface RegistrySchema {
  streets: StreetTable;
  grids: GridTable;
  estates: EstateTable;
  gateways: GatewayTable;
  devices: DeviceTable;
  registry_changes: RegistryChangeTable;
}
