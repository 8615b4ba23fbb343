import express, { Router } from 'express';
import type { Logger } from 'pino';
import { ChannelError, type InboundReply } from '../notify/channel.js';
import type { AckMetrics } from '../notify/ack-metrics.js';
import type { Replies } from '../notify/replies.js';
import { RbError } from '../errors.js';

/** What a provider's callback request is, for a plugin's `inbound`. */
export interface InboundRequest {
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  rawBody: Buffer;
}
/**
 * The configured channel `channelId`'s inbound parser (its plugin's `inbound` bound to its parsed
 * config), or undefined when there is no such channel or its plugin takes no callbacks.
 */
export type InboundLookup = (channelId: string) => ((req: InboundRequest) => InboundReply[]) | undefined;

export interface InboundRoutesDeps {
  inbound: InboundLookup;
  replies: Pick<Replies, 'handle'>;
  metrics?: Pick<AckMetrics, 'replyRefused'>;
  log: Logger;
}

function parseBody(raw: Buffer, type: string | undefined): unknown {
  const text = raw.toString('utf8');
  if (/json/i.test(type ?? '')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new RbError('RB_ERR_BAD_BODY', 'the body is not valid JSON');
    }
  }
  if (/x-www-form-urlencoded/i.test(type ?? '')) return Object.fromEntries(new URLSearchParams(text));
  return text;
}

/**
 * POST /api/v1/notify/inbound/:channelId   a provider's upstream-SMS callback (no login: the plugin
 * checks the provider's signature and throws ChannelError RB_ERR_NOTIFY_AUTH otherwise). Each reply
 * goes to hub/notify/replies.ts. Answers 200 `{code: 0, msg, result: 0, errmsg, received, acknowledged}`
 * (the success fields Aliyun's and Tencent Cloud's callbacks look for) once the replies are handled,
 * 401 for a request failing the provider check, 404 for a channel without callbacks.
 */
export function notifyInboundRoutes(deps: InboundRoutesDeps): Router {
  const router = Router();
  router.post('/api/v1/notify/inbound/:channelId', express.raw({ type: () => true, limit: '256kb' }), async (req, res) => {
    const channelId = String(req.params.channelId);
    const parse = deps.inbound(channelId);
    if (!parse) throw new RbError('RB_ERR_NOT_FOUND', `no channel ${JSON.stringify(channelId)} takes callbacks (notify.channels[].id)`);
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let replies: InboundReply[];
    try {
      replies = parse({ headers: req.headers, body: parseBody(rawBody, req.headers['content-type']), rawBody });
    } catch (err) {
      if (err instanceof ChannelError && err.code === 'RB_ERR_NOTIFY_AUTH') {
        deps.metrics?.replyRefused.inc({ reason: 'bad-signature' });
        deps.log.warn({ channel: channelId, ip: req.socket.remoteAddress }, 'inbound callback refused: it failed the provider check');
        throw new RbError('RB_ERR_UNAUTHENTICATED', 'the callback failed the provider’s signature check');
      }
      if (err instanceof RbError) throw err;
      deps.log.warn({ channel: channelId, err: (err as Error).message }, 'inbound callback not understood');
      throw new RbError('RB_ERR_BAD_BODY', 'the callback body is not what this channel’s provider sends');
    }
    let acknowledged = 0;
    for (const r of replies) if ((await deps.replies.handle({ ...r, channelId })).ok) acknowledged += 1;
    res.json({ code: 0, msg: '接收成功', result: 0, errmsg: 'OK', received: replies.length, acknowledged });
  });
  return router;
}
