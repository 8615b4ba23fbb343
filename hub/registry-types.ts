import type { GatewayStatus } from '../protocol/index.js';
import type { HubDatabase } from './platform/db/index.js';
import type { AuthCacheOptions } from './registry-secrets.js';
import type { Logger } from 'pino';

/** The registry's records and its interface (implementation: hub/registry.ts). */
export interface GatewayCredentials {
  estate: string;
  gateway: string;
  username: string;
  password: string;
}

export interface GatewayIdentity {
  estate: string;
  gateway: string;
}

export interface GatewayRecord extends GatewayIdentity {
  username: string;
  createdAt: number;
  rotatedAt: number | null;
  revokedAt: number | null;
}

export interface DeviceRecord {
  estate: string;
  gateway: string;
  device: string;
  firstSeen: number;
  lastSeen: number;
  online: boolean;
}

export interface EstateRecord {
  id: string;
  street: string | null;
  grid: string | null;
  name: string | null;
}

export interface GridRecord {
  id: string;
  street: string | null;
  name: string | null;
}

export interface StreetRecord {
  id: string;
  name: string | null;
}

/** A credential change (add, rotate, revoke), from this process or another one sharing the database. */
export interface CredentialChange extends GatewayIdentity {
  seq: number;
  kind: 'add' | 'rotate' | 'revoke';
  at: number;
}

/**
 * The hub's registry: streets, grids, estates, gateways (scrypt hashes of their secrets), devices.
 * Writes are async and resolve once committed AND visible to the synchronous reads below. Reads
 * that request handlers, the roster and scope checks call many times per request are synchronous:
 * they are served from memory (see `createRegistry`), so `start()` must have resolved first.
 */
export interface Registry {
  /** Load the registry into memory and begin watching the database for other processes' changes. */
  start(): Promise<void>;
  /** Stop watching and wait for pending device writes; the database itself stays open (its owner closes it). */
  close(): Promise<void>;
  /** Provision a gateway, or give an existing (even revoked) one a new secret; returns its credentials once. */
  addGateway(estate: string, gateway: string): Promise<GatewayCredentials>;
  /** New secret for an active gateway; the old one stops working at once. */
  rotateGateway(estate: string, gateway: string): Promise<GatewayCredentials>;
  /** Revoke a gateway's secret (idempotent: a second revoke returns the first time). */
  revokeGateway(estate: string, gateway: string): Promise<{ estate: string; gateway: string; revokedAt: number }>;
  /** Check MQTT credentials against the database; `null` when unknown, revoked or wrong. */
  authenticate(username: string, password: string): Promise<GatewayIdentity | null>;
  listGateways(): GatewayRecord[];
  addStreet(id: string, name?: string): Promise<StreetRecord>;
  /** Every street with its name (the street overview names its street). */
  listStreets(): StreetRecord[];
  /** Add a city-management grid (or update its street / name). */
  addGrid(id: string, opts?: { street?: string; name?: string }): Promise<GridRecord>;
  listGrids(): GridRecord[];
  /** Add an estate or update its street / grid / name; an estate given only a grid takes the grid's street. */
  addEstate(id: string, opts?: { street?: string; grid?: string; name?: string }): Promise<EstateRecord>;
  listEstates(): EstateRecord[];
  getEstate(id: string): EstateRecord | undefined;
  /**
   * Estate ids that scope strings cover: `estate:E` covers E (registered or not), `grid:G` every
   * estate whose grid is G, `street:S` every estate whose street is S. Other strings cover nothing.
   */
  estatesInScope(scopes: readonly string[]): string[];
  /**
   * Record the devices a gateway reports in its status (all offline when the gateway goes offline):
   * `listDevices` shows it at once; the promise resolves when it is committed.
   */
  recordStatus(status: GatewayStatus, receivedAt?: number): Promise<void>;
  listDevices(filter?: { estate?: string }): DeviceRecord[];
  /**
   * Call `listener` for every credential change: at once for changes made through this object, and
   * within `pollMs` for changes another process (the CLI) wrote to the same database.
   */
  watchChanges(listener: (change: CredentialChange) => void, pollMs?: number): () => void;
}

export interface RegistryDeps {
  db: HubDatabase;
  log: Logger;
  authCache?: AuthCacheOptions;
  /** How often to look for changes written by another process (default 1 s). */
  pollMs?: number;
  now?: () => number;
}
