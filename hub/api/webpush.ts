import express, { Router } from 'express';
import { z } from 'zod';
import type { Audit } from '../audit.js';
import { RbError } from '../errors.js';
import { parseSubscription, type PushSubscriptions, type VapidKeys } from '../notify/webpush-store.js';
import type { People } from '../people/index.js';
import { principalOf, userAuth } from './user-auth.js';

/**
 * Web Push for the phone view installed as a PWA (docs/notifications.md, "Web Push"):
 *
 * GET    /api/v1/notify/webpush/key        -> {publicKey}: the VAPID key browsers subscribe with
 * GET    /api/v1/me/push-subscriptions     -> {items: [{endpoint, userAgent, createdAt, lastSuccessAt}]}
 * POST   /api/v1/me/push-subscriptions     PushSubscription.toJSON() -> 201 {endpoint, …}
 * DELETE /api/v1/me/push-subscriptions     {endpoint} -> 204
 *
 * Subscriptions belong to the signed-in user (never to RB_API_TOKEN's `system`); keys are never echoed.
 */
export interface WebPushRoutesDeps {
  people: People;
  audit: Audit;
  subscriptions: PushSubscriptions;
  /** The VAPID key pair the webpush channel signs with (hub/notify/webpush-store.ts vapidKeys). */
  keys: () => Promise<Pick<VapidKeys, 'publicKey'>>;
}

const Unsubscribe = z.object({ endpoint: z.string().min(1).max(1024) }).strip();

export function webpushRoutes(deps: WebPushRoutesDeps): Router {
  const router = Router();
  const auth = userAuth(deps.people.principals);
  const json = express.json({ limit: '4kb' });
  const user = (res: express.Response) => {
    const p = principalOf(res);
    if (p.kind !== 'user') throw new RbError('RB_ERR_FORBIDDEN', 'push subscriptions belong to a signed-in user, not to the API token');
    return p;
  };

  router.get('/api/v1/notify/webpush/key', auth, async (_req, res) => {
    const { publicKey } = await deps.keys();
    res.set('Cache-Control', 'no-cache').json({ publicKey });
  });
  router.get('/api/v1/me/push-subscriptions', auth, (_req, res) => {
    res.json({ items: deps.subscriptions.list(user(res).id) });
  });
  router.post('/api/v1/me/push-subscriptions', auth, json, async (req, res) => {
    const p = user(res);
    const sub = parseSubscription(req.body);
    const view = await deps.subscriptions.add(p.id, sub, req.get('user-agent'));
    deps.audit.recordInBackground({ actor: `user:${p.id}`, action: 'notify.push.subscribe', target: `user:${p.id}`, detail: { origin: new URL(sub.endpoint).origin } });
    res.status(201).json(view);
  });
  router.delete('/api/v1/me/push-subscriptions', auth, json, async (req, res) => {
    const p = user(res);
    const parsed = Unsubscribe.safeParse(req.body);
    if (!parsed.success) throw new RbError('RB_ERR_BAD_BODY', 'endpoint: give the subscription endpoint to remove');
    if (!(await deps.subscriptions.remove(p.id, parsed.data.endpoint))) throw new RbError('RB_ERR_NOT_FOUND', 'no such push subscription of yours');
    deps.audit.recordInBackground({ actor: `user:${p.id}`, action: 'notify.push.unsubscribe', target: `user:${p.id}`, detail: { origin: new URL(parsed.data.endpoint).origin } });
    res.status(204).end();
  });
  return router;
}
