import type { RequestHandler } from 'express';
import { RbError } from '../errors.js';
import type { GatewayIdentity, Registry } from '../registry.js';

/**
 * Gateways authenticate over HTTP (snapshot uploads) with the same username and password as over
 * MQTT, in a Basic `Authorization` header (the hub should sit behind TLS when it is off the LAN).
 */
export function gatewayAuth(registry: Pick<Registry, 'authenticate'>): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const m = /^Basic ([A-Za-z0-9+/=]{1,400})$/.exec(header);
    const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon <= 0) return next(new RbError('RB_ERR_UNAUTHENTICATED', 'gateway credentials required (HTTP Basic)'));
    registry
      .authenticate(decoded.slice(0, colon), decoded.slice(colon + 1))
      .then((who) => {
        if (!who) return next(new RbError('RB_ERR_UNAUTHENTICATED', 'bad gateway username or password'));
        res.locals.gateway = who satisfies GatewayIdentity;
        next();
      })
      .catch(next);
  };
}
