import type { Logger } from 'pino';
import type { RbEvent } from '../protocol/index.js';
import { createUploadSpool, upgradeSnapshotSpool } from './upload-spool.js';

export interface Snapshot {
  bytes: Buffer;
  sha256: string;
}

export interface SnapshotServiceDeps {
  dataDir: string;
  /** Hub HTTP base URL (config hub.httpUrl). */
  hubUrl: string | undefined;
  username: string;
  password: string;
  log: Logger;
  /** Take a snapshot from one camera device (its driver's camera.snapshot). */
  take(camera: string, signal: AbortSignal): Promise<Snapshot>;
  /** Most snapshots waiting for upload; the oldest goes when a new one would pass it. */
  maxPending?: number;
  takeTimeoutMs?: number;
}

export interface SnapshotService {
  start(): void;
  stop(): Promise<void>;
  /** Take snapshots of an alarm from its linked cameras, keep them on disk, upload them. Never throws. */
  capture(event: RbEvent, cameras: readonly string[]): void;
  pending(): number;
}

/**
 * Incident snapshots: when an alarm-class event comes from a gate or barrier that the config links to
 * cameras, each camera's snapshot is taken at once, kept in the upload spool (upload-spool.ts:
 * `{dataDir}/snapshots.db` and `{dataDir}/snapshots/`), and uploaded to the hub (PUT
 * /api/v1/snapshots/{sha256}, gateway credentials) until the hub has it — through hub restarts and
 * link cuts, like events.
 */
export function createSnapshotService(deps: SnapshotServiceDeps): SnapshotService {
  const { log } = deps;
  upgradeSnapshotSpool(deps.dataDir);
  const spool = createUploadSpool({
    dataDir: deps.dataDir,
    name: 'snapshots',
    ext: 'jpg',
    contentType: 'image/jpeg',
    route: 'api/v1/snapshots',
    hubUrl: deps.hubUrl,
    username: deps.username,
    password: deps.password,
    log,
    maxPending: deps.maxPending ?? 2_000,
  });
  const stopping = new AbortController();

  async function takeOne(event: RbEvent, camera: string): Promise<void> {
    const snap = await deps.take(camera, AbortSignal.any([stopping.signal, AbortSignal.timeout(deps.takeTimeoutMs ?? 10_000)]));
    const query = { event: event.id, device: event.device, camera, takenAt: String(Date.now()) };
    spool.add({ key: `${event.id}/${camera}`, sha256: snap.sha256, query }, snap.bytes);
    log.info({ event: event.id, device: event.device, camera, sha256: snap.sha256 }, 'incident snapshot taken');
  }

  return {
    start: () => spool.start(),
    async stop() {
      stopping.abort();
      await spool.stop();
    },
    capture(event, cameras) {
      if (!deps.hubUrl) return;
      for (const camera of cameras) {
        takeOne(event, camera).catch((err: unknown) =>
          log.warn({ event: event.id, camera, err: (err as Error).message }, 'incident snapshot not taken'),
        );
      }
    },
    pending: () => spool.pending(),
  };
}
