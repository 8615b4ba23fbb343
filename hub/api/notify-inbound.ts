import express, { Router } from 'express';
import type { Logger } from 'pino';
import { ChannelError, type InboundReply } from '../notify/channel.js';
import type { AckMetrics } from '../notify/ack-metrics.js';
import type { Replies } from '../notify/replies.js';
import { RbError } from '../errors.js';

/** What a provider's callback request is, for a plugin's `inbound` (hub/notify/channel.ts ChannelPlugin). */
export interface InboundRequest {
  channelId: string;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, string | string[] | undefined>;
  body: unknown;
  rawBody: Buffer;
}
/** A configured channel's callbacks: its plugin's `inbound` bound to the instance's parsed config, and `inboundAnswer`. */
export interface InboundHandler {
  parse(req: InboundRequest): InboundReply[];
  /** The body the provider expects back (plugin `inboundAnswer`); absent: `{received, acknowledged}`. */
  answer?: unknown;
}
/** The handler of configured channel `channelId`, or undefined when there is none or its plugin takes no callbacks. */
export type InboundLookup = (channelId: string) => InboundHandler | undefined;

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
 * goes to hub/notify/replies.ts. Answers 200 with the body the provider documents (the plugin's
 * `inboundAnswer`, e.g. Aliyun `{"code":0,"msg":"接收成功"}`; else `{received, acknowledged}`) once
 * the replies are handled, 401 for a request failing the provider check, 404 for a channel without
 * callbacks, 400 for a body that is not what the provider sends.
 */
export function notifyInboundRoutes(deps: InboundRoutesDeps): Router {
  const router = Router();
  router.post('/api/v1/notify/inbound/:channelId', express.raw({ type: () => true, limit: '256kb' }), async (req, res) => {
    const channelId = String(req.params.channelId);
    const handler = deps.inbound(channelId);
    if (!handler) throw new RbError('RB_ERR_NOT_FOUND', `no channel ${JSON.stringify(channelId)} takes callbacks (notify.channels[].id)`);
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let replies: InboundReply[];
    try {
      replies = handler.parse({ channelId, headers: req.headers, query: req.query as Record<string, string | string[] | undefined>, body: parseBody(rawBody, req.headers['content-type']), rawBody });
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
    deps.log.info({ channel: channelId, received: replies.length, acknowledged }, 'inbound callback handled');
    res.json(handler.answer ?? { received: replies.length, acknowledged });
  });
  return router;
}
