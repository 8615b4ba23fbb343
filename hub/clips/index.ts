import type { Router } from 'express';
import { parseDuration } from '../../lib/duration.js';
import type { Logger } from 'pino';
import type { AlertStore } from '../alerts/store.js';
import type { NameOf } from '../alerts/view.js';
import { userAuth } from '../api/user-auth.js';
import type { Audit } from '../audit.js';
import type { People } from '../people/index.js';
import type { HubDatabase } from '../platform/db/index.js';
import type { Registry } from '../registry.js';
import { clipRoutes } from './routes.js';
import { openClipStore, type ClipStore } from './store.js';

export type { ClipLink, ClipStore } from './store.js';

export interface ClipsDeps {
  db: HubDatabase;
  dataDir: string;
  /** Config video.clips. */
  config: { retention: string; maxBytes: number };
  registry: Pick<Registry, 'authenticate'>;
  people: Pick<People, 'principals'>;
  audit: Pick<Audit, 'recordInBackground'>;
  alerts: Pick<AlertStore, 'get'>;
  nameOf?: NameOf;
  log: Logger;
  /** How often the retention runs; default hourly (and once at start). */
  sweepEveryMs?: number;
}

/**
 * Alarm clips at the hub (docs/video.md, "Alarm clips"): the gateways' uploads, the screens' reads
 * (scoped, every view audited) and the retention (`video.clips.retention`): clips received longer
 * ago than that are deleted, bytes and link, on whichever node runs it (deleting twice is harmless).
 */
export function wireClips(d: ClipsDeps): { store: ClipStore; routes: Router[]; start(): void; stop(): Promise<void> } {
  const store = openClipStore({ db: d.db, dataDir: d.dataDir });
  const keepMs = parseDuration(d.config.retention);
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;
  const sweep = async (): Promise<void> => {
    let removed = 0;
    for (let n = await store.prune(Date.now() - keepMs); n > 0; n = await store.prune(Date.now() - keepMs)) removed += n;
    if (removed > 0) d.log.info({ removed, retention: d.config.retention }, 'alarm clips past video.clips.retention deleted');
  };
  const run = (): void => {
    sweeping ??= sweep()
      .catch((err: unknown) => d.log.error({ err }, 'alarm clip retention failed; tried again later'))
      .finally(() => (sweeping = undefined));
  };
  return {
    store,
    routes: [clipRoutes({ clips: store, registry: d.registry, alerts: d.alerts, audit: d.audit, ...(d.nameOf ? { nameOf: d.nameOf } : {}), auth: userAuth(d.people.principals), maxBytes: d.config.maxBytes, log: d.log })],
    start() {
      run();
      timer = setInterval(run, d.sweepEveryMs ?? 3_600_000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await sweeping;
    },
  };
}
