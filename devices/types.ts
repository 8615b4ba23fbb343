import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { CommandName, EventType, RbEvent } from '../protocol/index.js';

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
  /** Count every request the driver makes to its device, with its outcome (the gateway's /metrics); absent in unit tests. */
  meter?: DeviceMeter | undefined;
}

/** How one request to a device ended: answered, refused our credentials, timed out, or failed otherwise. */
export type RequestOutcome = 'ok' | 'auth-failed' | 'timeout' | 'error';

export interface DeviceMeter {
  /** One request (a SOAP call, an HTTP command or poll) to the device; `op` is a fixed name such as "PullMessages". */
  request(op: string, outcome: RequestOutcome): void;
  /** One occurrence of a misbehaviour the driver works around (e.g. an early empty PullMessages answer). */
  misbehaved?(code: DeviceWarning['code']): void;
}

/**
 * What a device is, as far as the gateway can tell:
 * - `online`: an authenticated call succeeded lately (reachable *and* usable);
 * - `auth-failed`: it answers, but refuses the configured credentials (fix the config, then reload);
 * - `offline`: it does not answer.
 */
export type DeviceState = 'online' | 'offline' | 'auth-failed';

/** Make, model and firmware as the device reports them (ONVIF GetDeviceInformation, ISAPI deviceInfo). */
export interface DeviceInfo {
  manufacturer?: string | undefined;
  model?: string | undefined;
  firmware?: string | undefined;
  serial?: string | undefined;
  hardwareId?: string | undefined;
}

/** A device that works but misbehaves (e.g. answers PullMessages at once): reported, never fatal. */
export interface DeviceWarning {
  code: 'pull-early';
  message: string;
  /** When the warning was first raised, ms. */
  since: number;
}

export interface DeviceHealth {
  /** True only when `state` is `online`. */
  online: boolean;
  /** Absent for drivers that cannot tell auth-failed from offline (treated as online/offline). */
  state?: DeviceState | undefined;
  lastSeen?: number | undefined;
  /** The last error, one line, for installers (never a credential). */
  error?: string | undefined;
  info?: DeviceInfo | undefined;
  warnings?: DeviceWarning[] | undefined;
}

/** A command the gateway has validated (schema, profile, expiry, once-only) and hands to a driver. */
export interface DriverCommand {
  id: string;
  name: CommandName;
  args: Record<string, unknown>;
  /** Aborted at the command's deadline (expiresAt, capped by the gateway's own limit). */
  signal: AbortSignal;
}

export interface Driver {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): DeviceHealth;
  /**
   * Carry out a command on the device. Resolves with optional result data; rejects with a
   * `DeviceCommandError` (or any error, reported as RB_ERR_DEVICE_FAILED). Only called for commands in
   * the factory's `profile.commands`.
   */
  execute?(command: DriverCommand): Promise<Record<string, unknown> | void>;
  /**
   * A camera's live streams (issue 20, docs/video.md): the RTSP address of each quality it has, asked
   * of the device (ONVIF GetProfiles + GetStreamUri). The gateway's video relay pulls one only while
   * someone watches it. Rejects when the device cannot say (unreachable, no media profile).
   */
  streams?(signal: AbortSignal): Promise<VideoSource[]>;
}

/** One live stream of a camera, as the video relay needs it to pull RTSP. */
export interface VideoSource {
  quality: 'main' | 'sub';
  /** rtsp:// address as the device gave it, without credentials. */
  uri: string;
  /** The device's credentials, for the RTSP login (never logged). */
  username?: string | undefined;
  password?: string | undefined;
  width?: number | undefined;
  height?: number | undefined;
  /** The profile has a PTZ configuration (the screens show PTZ controls). */
  ptz: boolean;
  /**
   * The camera's PTZ presets, those `ptz.preset` reaches (issue 20: the screens' preset buttons); only
   * on PTZ sources, absent when the camera has none or could not list them. Bounded by the driver:
   * at most PTZ_PRESETS_MAX (protocol/video.ts), tokens printable ASCII, names at most 64 characters.
   */
  presets?: PtzPreset[] | undefined;
}

/** One PTZ preset: the token `ptz.preset {preset}` takes, and the name the camera gives it. */
export interface PtzPreset {
  token: string;
  name: string;
}

/** Error a driver throws when the device refused or did not answer. */
export class DeviceCommandError extends Error {
  constructor(
    readonly code: 'RB_ERR_DEVICE_FAILED' | 'RB_ERR_DEVICE_TIMEOUT',
    message: string,
  ) {
    super(message);
    this.name = 'DeviceCommandError';
  }
}

/** What a device kind is and can do: data, not code (events it reports, commands it takes). */
export interface DeviceProfile {
  kind: 'access-gate' | 'barrier-gate' | 'onvif-camera';
  vendor: string;
  events: readonly EventType[];
  commands: readonly CommandName[];
}

export interface DriverFactory<Schema extends z.ZodType = z.ZodType> {
  /** Name used in the gateway config's `driver:` key. */
  name: string;
  /** Device kind, a folder under devices/. */
  kind: 'access-gate' | 'barrier-gate' | 'onvif-camera';
  /** zod schema of the `options` block in the gateway config. */
  options: Schema;
  /** The device profile: which events and commands this driver supports. */
  profile: DeviceProfile;
  create(ctx: DriverContext<z.infer<Schema>>): Driver;
}
