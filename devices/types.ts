import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { EventType, RbEvent } from '../protocol/index.js';

/** What a driver hands to the gateway: the gateway stamps v, id, seq, estate, gateway and device. */
export type DraftEvent = {
  [K in EventType]: {
    type: K;
    /** Device time of the event, ms since epoch. */
    ts: number;
    data: Extract<RbEvent, { type: K }>['data'];
    /**
     * Stable key of this occurrence on the device (e.g. its event serial number). When set, the event id
     * is derived from it, so a device that pushes the same event twice yields one event id and the hub
     * stores it once.
     */
    dedupKey?: string;
  };
}[EventType];

export interface PushRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  remoteAddress: string | undefined;
  body: Buffer;
}

export interface PushResponse {
  status: number;
  contentType?: string;
  body?: string;
}

export type PushHandler = (req: PushRequest) => Promise<PushResponse>;

/** The gateway's device-facing HTTP listener, shared by every push-style driver. */
export interface PushRoutes {
  /** Route every request whose path is `prefix` or starts with `prefix/` to `handler`. */
  register(prefix: string, handler: PushHandler): void;
  unregister(prefix: string): void;
}

export interface DeviceConfig {
  id: string;
  driver: string;
  name?: string | undefined;
  options: Record<string, unknown>;
}

export interface DriverContext<Options = Record<string, unknown>> {
  estate: string;
  gateway: string;
  device: DeviceConfig;
  /** Driver options, already validated by the factory's `options` schema. */
  options: Options;
  log: Logger;
  /** Salted one-way hash (per estate) for card numbers, face ids and person ids. Never send them raw. */
  hash(value: string): string;
  /**
   * Hand a normalised event to the gateway. Resolves once the gateway has accepted it (queued in the
   * outbox); a push driver answers the device only after that.
   */
  emit(event: DraftEvent): Promise<void>;
  routes: PushRoutes;
}

export interface DeviceHealth {
  online: boolean;
  lastSeen?: number | undefined;
}

export interface Driver {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): DeviceHealth;
}

export interface DriverFactory<Schema extends z.ZodType = z.ZodType> {
  /** Name used in the gateway config's `driver:` key. */
  name: string;
  /** Device kind, a folder under devices/. */
  kind: 'access-gate' | 'barrier-gate' | 'onvif-camera';
  /** zod schema of the `options` block in the gateway config. */
  options: Schema;
  create(ctx: DriverContext<z.infer<Schema>>): Driver;
}
