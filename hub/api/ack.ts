import express, { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { NameOf } from '../alerts/service.js';
import type { Alert } from '../alerts/types.js';
import { ERRORS, type ErrorCode } from '../../protocol/errors.js';
import { AckRefused, type RemoteAck } from '../notify/acknowledge.js';
import { AckLinkError, type AckLinkService } from '../notify/ack-links.js';
import type { AckMetrics } from '../notify/ack-metrics.js';
import { ACK_PAGE_CSP, confirmPage, donePage, refusedPage, type AckPageAlert } from '../notify/ack-page.js';

export interface AckRoutesDeps {
  links: Pick<AckLinkService, 'verify'>;
  remote: RemoteAck;
  metrics: Pick<AckMetrics, 'linkRefused' | 'remoteAcks'>;
  /** The hub's time zone, for the alert's time on the page. */
  timeZone: string;
  nameOf?: NameOf;
  /** Requests per IP per minute (notify.ackRateLimit, default 30). */
  perMinute?: number;
  log: Logger;
  now?: () => number;
}

type Refusal = { code: ErrorCode; reason: string; message: string };

const MAX_TRACKED_IPS = 10_000;

/**
 * GET  /a/:token  the alert (estate, device, event) and a 确认 button; no login, no script.
 * POST /a/:token  acknowledge it as the person the link was sent to (audited with the channel);
 *                 HTML, or JSON `{alert, result}` for a client that asks for JSON (the push action).
 * Refused links (forged, expired, wrong purpose, unknown alert or person, estate no longer theirs,
 * too many requests) answer a clear page or `{error: {code, title, message}}` with the code's status,
 * and count in rb_notify_ack_link_refused_total{reason}.
 */
export function ackRoutes(deps: AckRoutesDeps): Router {
  const router = Router();
  const now = deps.now ?? (() => Date.now());
  const perMinute = deps.perMinute ?? 30;
  const windows = new Map<string, { start: number; count: number }>();

  function limited(ip: string): boolean {
    const at = now();
    let w = windows.get(ip);
    if (!w || at - w.start >= 60_000) {
      if (!w && windows.size >= MAX_TRACKED_IPS) for (const [k, v] of windows) if (at - v.start >= 60_000) windows.delete(k);
      w = { start: at, count: 0 };
      windows.set(ip, w);
    }
    w.count += 1;
    return w.count > perMinute;
  }

  const wantsJson = (req: Request): boolean => req.accepts(['html', 'json']) === 'json';
  const view = (a: Alert): AckPageAlert => ({
    id: a.id,
    estate: a.estate,
    estateName: deps.nameOf?.estate?.(a.estate),
    device: a.device,
    deviceName: deps.nameOf?.device?.(a.estate, a.device),
    rule: a.rule,
    severity: a.severity,
    openedAt: a.openedAt,
    state: a.state,
    acknowledgedByName: a.acknowledgedBy ? (deps.nameOf?.(a.acknowledgedBy) ?? undefined) : undefined,
  });

  function refuse(req: Request, res: Response, r: Refusal): void {
    deps.metrics.linkRefused.inc({ reason: r.reason });
    deps.log.info({ reason: r.reason, code: r.code, ip: req.socket.remoteAddress }, 'ack link refused');
    const status = (ERRORS[r.code] as { status?: number }).status ?? 400;
    res.status(status).set('Cache-Control', 'no-store');
    if (wantsJson(req)) res.json({ error: { code: r.code, title: ERRORS[r.code].title, message: r.message } });
    else res.set('Content-Security-Policy', ACK_PAGE_CSP).type('html').send(refusedPage(r.code));
  }

  function refusalOf(err: unknown): Refusal | undefined {
    if (err instanceof AckLinkError) {
      return err.reason === 'expired'
        ? { code: 'RB_ERR_ACK_LINK_EXPIRED', reason: 'expired', message: 'the acknowledge link has expired' }
        : { code: 'RB_ERR_ACK_LINK_INVALID', reason: err.reason, message: `the acknowledge link is not valid (${err.message})` };
    }
    if (err instanceof AckRefused) {
      if (err.reason === 'unknown-alert') return { code: 'RB_ERR_NOT_FOUND', reason: err.reason, message: 'no such alert' };
      if (err.reason === 'unknown-user') return { code: 'RB_ERR_UNKNOWN_USER', reason: err.reason, message: 'the person of this link is unknown or disabled' };
      return { code: 'RB_ERR_FORBIDDEN', reason: err.reason, message: 'the alert’s estate is no longer in the scope of the person of this link' };
    }
    return undefined;
  }

  const handle = (post: boolean) => async (req: Request, res: Response) => {
    if (limited(req.socket.remoteAddress ?? 'unknown')) {
      res.set('Retry-After', '60');
      refuse(req, res, { code: 'RB_ERR_RATE_LIMITED', reason: 'rate-limited', message: 'too many requests from this address; try again in a minute' });
      return;
    }
    try {
      const claims = await deps.links.verify(String(req.params.token));
      res.set('Cache-Control', 'no-store').set('Referrer-Policy', 'no-referrer');
      if (!post) {
        const alert = await deps.remote.check(claims.alertId, claims.userId);
        if (wantsJson(req)) res.json({ alert: view(alert) });
        else res.set('Content-Security-Policy', ACK_PAGE_CSP).type('html').send(confirmPage(view(alert), req.originalUrl, deps.timeZone));
        return;
      }
      // The service worker's 确认 says `via=push`; the signed token alone authorises either way.
      const via = req.query.via === 'push' ? 'push' : 'link';
      const out = await deps.remote.acknowledge(claims.alertId, claims.userId, via, claims.channelId);
      deps.metrics.remoteAcks.inc({ via, result: out.result });
      if (wantsJson(req)) res.json({ alert: view(out.alert), result: out.result });
      else res.set('Content-Security-Policy', ACK_PAGE_CSP).type('html').send(donePage(view(out.alert), out.result, deps.timeZone));
    } catch (err) {
      const r = refusalOf(err);
      if (!r) {
        deps.log.error({ err }, 'ack link failed');
        res.status(500).set('Cache-Control', 'no-store');
        if (wantsJson(req)) res.json({ error: { code: 'RB_ERR_INTERNAL', title: ERRORS.RB_ERR_INTERNAL.title, message: 'internal error' } });
        else res.set('Content-Security-Policy', ACK_PAGE_CSP).type('html').send(refusedPage('RB_ERR_INTERNAL'));
        return;
      }
      refuse(req, res, r);
    }
  };

  router.get('/a/:token', handle(false));
  // The form posts urlencoded (nothing in it is read); the push action may post JSON.
  router.post('/a/:token', express.urlencoded({ extended: false, limit: '1kb' }), handle(true));
  return router;
}
