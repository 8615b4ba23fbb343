import type { Logger } from 'pino';
import { service, type Service } from '../../lib/service.js';
import type { HubDatabase } from '../platform/db/index.js';
import { createPgListener, type PgListener } from '../platform/db/listen.js';
import { SETTINGS_CHANNEL, type AlertStore } from './store.js';

/**
 * Cluster: every node keeps the estates' alert settings in memory (the rules read them on every
 * event). Settings saved through another node are announced by NOTIFY in their transaction
 * (store.ts); this node reads them again and re-judges its timers. After a lost LISTEN connection it
 * reads them once anyway (what was announced meanwhile is gone). The embedded hub: nothing to do.
 */
export function alertSettingsSync(deps: { hubDb: HubDatabase; url: string | undefined; store: Pick<AlertStore, 'load'>; wake: () => Promise<void>; log: Logger }): Service {
  let listener: PgListener | undefined;
  return service(
    'alert-settings-sync',
    async () => {
      if (deps.hubDb.dialect !== 'postgres' || !deps.url) return;
      const reload = (): void =>
        void deps.store.load().then(
          () => deps.wake(),
          (err: unknown) => deps.log.warn({ err }, 'alert settings not read again'),
        );
      listener = createPgListener({ url: deps.url, channels: [SETTINGS_CHANNEL], log: deps.log, onNotify: reload, onReconnect: reload });
      await listener.start();
    },
    () => listener?.stop(),
  );
}
