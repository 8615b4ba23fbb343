import { createIsapiHealth } from '../isapi-health.js';
import { createPushIntake } from '../push-intake.js';
import type { DraftEvent, Driver, DriverCommand, DriverContext, DriverFactory, PushRequest, PushResponse } from '../types.js';
import { createAnprControl, type AnprCommandResult } from './anpr-commands.js';
import { AnprOptions } from './anpr-options.js';
import { decodeAnprBody, PARSE_REJECTS, readAlert, type Reading } from './anpr-parse.js';
import { barrierGateProfile } from './profile.js';

/**
 * Hikvision entrance/exit ANPR cameras (DS-TCG4xx and alike) in ISAPI "HTTP listening" mode: the
 * camera POSTs an `EventNotificationAlert` (eventType ANPR) per vehicle, as multipart/form-data with
 * an `anpr.xml` part and JPEG parts (wire facts and sources: anpr-parse.ts). It re-posts until it gets
 * a 200, so the answer comes only after the gateway has queued the event. Commands (barrier, plate
 * lists) go the other way over ISAPI with Digest auth (anpr-commands.ts).
 *
 * Policy, read → event (the camera decides what its barrier does; we report what the read means):
 *  - allowList (resident / registered) → vehicle.entered or vehicle.exited, list 'allow';
 *  - blockList → vehicle.denied, reason 'blocklist', list 'block' (the hub raises it as an alarm);
 *  - not on a list (otherList, "temporary", none) = a visitor: the guard on duty lets visitors in, so
 *    → vehicle.entered / vehicle.exited with list 'other', never a denial;
 *  - no readable plate: as a visitor, without `plate` (and without colour or confidence).
 *  Entered or exited: the lane's configured direction (`lanes`) wins; otherwise the camera's
 *  `direction` (forward = towards the camera = in, reverse = out); otherwise `defaultDirection`.
 * Barrier status pushes: 2 (open in position) → barrier.opened, 1 (closed) → barrier.closed,
 * 0 (no position signal: arm stuck, sensor or wiring fault) → barrier.fault.
 */
export const DRIVER_NAME = 'hikvision-anpr';

export { AnprOptions };

export const REJECT_REASONS = ['forbidden-source', 'bad-method', ...PARSE_REJECTS, 'emit-failed'] as const;
export type AnprRejectReason = (typeof REJECT_REASONS)[number];

export interface AnprStats {
  /** Events handed to the gateway. */
  accepted: number;
  heartbeats: number;
  /** Well-formed alerts of an eventType we do not report. */
  ignored: number;
  /** Reads whose plate could not be read (reported without a plate). */
  unreadable: number;
  rejected: Record<AnprRejectReason, number>;
  lastSeen?: number | undefined;
}

/** The plate picture of one read, kept in memory for the snapshot pipeline; never put in events. */
export interface KeptPicture {
  /** The event's dedupKey (the camera's UUID) or, without one, `ts:<ms>`. */
  key: string;
  ts: number;
  bytes: Buffer;
}

export interface AnprDriver extends Driver {
  execute(command: DriverCommand): Promise<AnprCommandResult>;
  stats(): AnprStats;
  /** The most recent plate pictures, oldest first (bounded by `keepPictures`). */
  pictures(): KeptPicture[];
  /** The picture of one event by its key, if still kept. */
  picture(key: string): KeptPicture | undefined;
}

const OK_XML =
  '<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">' +
  '<statusCode>1</statusCode><statusString>OK</statusString><subStatusCode>ok</subStatusCode></ResponseStatus>';

export function createAnprDriver(ctx: DriverContext<AnprOptions>): AnprDriver {
  const { log, options } = ctx;
  const execute = createAnprControl({ ...options, deviceId: ctx.device.id, log });
  const path = options.path ?? `/anpr/${ctx.device.id}`;
  const laneDirection = new Map(options.lanes.map((l) => [l.lane, l.direction]));
  const intake = createPushIntake({ ...options, reasons: REJECT_REASONS, log, label: 'anpr push', emit: ctx.emit });
  const probe = createIsapiHealth({
    ...options, deviceId: ctx.device.id, pollMs: options.healthPollMs, requestTimeoutMs: options.commandTimeoutMs, log, meter: ctx.meter, emit: ctx.emit, pushHealth: intake.health,
  });
  const { refuse } = intake;
  const counters = { accepted: 0, heartbeats: 0, ignored: 0, unreadable: 0 };
  const kept = new Map<string, KeptPicture>();

  /** A reading → the event it stands for (policy above). */
  function toDraft(r: Extract<Reading, { kind: 'read' | 'barrier' }>): DraftEvent {
    const source = { vendor: DRIVER_NAME };
    const base = { ts: r.ts, ...(r.uuid !== undefined && { dedupKey: r.uuid }) };
    const lane = r.lane !== undefined ? { lane: r.lane } : {};
    if (r.kind === 'barrier') {
      if (r.status === 2) return { ...base, type: 'barrier.opened', data: { ...lane, source } };
      if (r.status === 1) return { ...base, type: 'barrier.closed', data: { ...lane, source } };
      return { ...base, type: 'barrier.fault', data: { ...lane, reason: 'barrier reports no position signal (arm blocked or sensor fault)', source } };
    }
    const data = {
      ...lane,
      ...(r.plate !== undefined && { plate: r.plate }),
      ...(r.plateColor !== undefined && { plateColor: r.plateColor }),
      ...(r.confidence !== undefined && { confidence: r.confidence }),
      list: r.list,
      source,
    };
    if (r.list === 'block') return { ...base, type: 'vehicle.denied', data: { ...data, reason: 'blocklist' } };
    const configured = r.lane !== undefined ? laneDirection.get(r.lane) : undefined;
    const camera = r.direction === 'forward' ? 'in' : r.direction === 'reverse' ? 'out' : undefined;
    const way = configured ?? camera ?? options.defaultDirection;
    return { ...base, type: way === 'in' ? 'vehicle.entered' : 'vehicle.exited', data };
  }

  function keep(key: string, ts: number, bytes: Buffer): void {
    if (options.keepPictures === 0) return;
    kept.delete(key);
    // A copy: the request body it points into must not stay alive through a subarray.
    kept.set(key, { key, ts, bytes: Buffer.from(bytes) });
    while (kept.size > options.keepPictures) kept.delete(kept.keys().next().value as string);
  }

  async function handle(req: PushRequest): Promise<PushResponse> {
    const forbidden = intake.checkSource(req);
    if (forbidden) return forbidden;
    if (req.method !== 'POST' && req.method !== 'PUT') return refuse(405, 'bad-method', `${req.method} not accepted`, req);
    const decoded = decodeAnprBody(req);
    if (!decoded.ok) return refuse(400, decoded.reason, decoded.detail, req);
    const reading = readAlert(decoded.doc);
    if (reading.kind === 'bad') return refuse(400, reading.reason, reading.detail, req);

    intake.seen();
    const ok: PushResponse = { status: 200, contentType: 'application/xml; charset="UTF-8"', body: OK_XML };
    if (reading.kind === 'heartbeat') {
      counters.heartbeats += 1;
      return ok;
    }
    if (reading.kind === 'ignored') {
      counters.ignored += 1;
      log.debug({ eventType: reading.eventType }, 'anpr alert type not mapped, ignored');
      return ok;
    }
    const draft = toDraft(reading);
    const failed = await intake.emit([draft], req);
    if (failed) return failed;
    counters.accepted += 1;
    if (reading.kind === 'read') {
      if (reading.plate === undefined) counters.unreadable += 1;
      if (decoded.picture) keep(draft.dedupKey ?? `ts:${draft.ts}`, draft.ts, decoded.picture);
    }
    // The plate itself is personal data: it goes to the hub in the event, never into gateway logs.
    log.debug({ type: draft.type, lane: reading.lane, list: reading.kind === 'read' ? reading.list : undefined }, 'anpr event accepted');
    return ok;
  }

  return {
    async start() {
      ctx.routes.register(path, handle);
      const commands = { address: options.address ?? null, auth: options.username ? 'digest' : 'none' };
      log.info({ path, allowFrom: options.allowFrom, lanes: options.lanes, commands }, 'anpr driver listening for pushes');
      probe.start();
    },
    async stop() {
      probe.stop();
      ctx.routes.unregister(path);
    },
    health: probe.health,
    execute,
    stats: () => ({ ...counters, rejected: intake.rejected(), lastSeen: intake.lastSeen() }),
    pictures: () => [...kept.values()],
    picture: (key) => kept.get(key),
  };
}

export const anprDriverFactory: DriverFactory<typeof AnprOptions> = {
  name: DRIVER_NAME,
  kind: 'barrier-gate',
  options: AnprOptions,
  profile: barrierGateProfile,
  create: (ctx) => createAnprDriver(ctx),
};
