import type { Logger } from '../../lib/log.js';
import type { PushHandler, PushRequest, PushResponse, PushRoutes } from '../types.js';

/**
 * Every ZKTeco ADMS device polls the same fixed paths (`/iclock/cdata`, `/iclock/getrequest`,
 * `/iclock/devicecmd`, `/iclock/ping`) and names itself only by `SN=` in the query [PUSH]. The push
 * listener routes by path prefix and allows one handler per prefix, so the `/iclock` route is shared:
 * one dispatcher per listener (per `PushRoutes`), registered when the first ZKTeco driver on it starts
 * and unregistered when the last one stops, hands each request to the driver of its serial number.
 */
export const ICLOCK_PREFIX = '/iclock';

interface Dispatcher {
  bySn: Map<string, PushHandler>;
  log: Logger;
  /** Requests no driver took, by reason. */
  refused: { 'missing-sn': number; 'unknown-sn': number };
}

const dispatchers = new WeakMap<PushRoutes, Dispatcher>();

function answer(status: number, text: string): PushResponse {
  return { status, contentType: 'text/plain; charset=utf-8', body: `${text}\n` };
}

function dispatch(d: Dispatcher): PushHandler {
  return async (req: PushRequest) => {
    const sn = req.query.get('SN') ?? '';
    if (sn === '') {
      d.refused['missing-sn'] += 1;
      d.log.warn({ path: req.path.slice(0, 100), remote: req.remoteAddress }, 'zkteco request without SN refused');
      return answer(400, 'missing-sn: no SN= in the query');
    }
    const handler = d.bySn.get(sn);
    if (!handler) {
      d.refused['unknown-sn'] += 1;
      d.log.warn({ sn: sn.slice(0, 40), remote: req.remoteAddress }, 'zkteco request from an unconfigured serial number');
      return answer(404, 'unknown-sn: no device with this serial number is configured');
    }
    return handler(req);
  };
}

/** Route requests with `SN=sn` on this listener to `handler`. Throws when the SN is already taken. */
export function attachZkDevice(routes: PushRoutes, sn: string, handler: PushHandler, log: Logger): void {
  let d = dispatchers.get(routes);
  if (!d) {
    d = { bySn: new Map(), log, refused: { 'missing-sn': 0, 'unknown-sn': 0 } };
    routes.register(ICLOCK_PREFIX, dispatch(d));
    dispatchers.set(routes, d);
  }
  if (d.bySn.has(sn)) throw new Error(`zkteco: serial number ${sn} is configured for two devices`);
  d.bySn.set(sn, handler);
}

/** Stop routing `sn`; the last device gone releases `/iclock` on the listener. */
export function detachZkDevice(routes: PushRoutes, sn: string, handler: PushHandler): void {
  const d = dispatchers.get(routes);
  if (!d || d.bySn.get(sn) !== handler) return;
  d.bySn.delete(sn);
  if (d.bySn.size === 0) {
    routes.unregister(ICLOCK_PREFIX);
    dispatchers.delete(routes);
  }
}

/** Requests the shared route refused before reaching a driver (for tests and diagnostics). */
export function zkDispatchStats(routes: PushRoutes): { devices: number; refused: Dispatcher['refused'] } | undefined {
  const d = dispatchers.get(routes);
  return d && { devices: d.bySn.size, refused: { ...d.refused } };
}
