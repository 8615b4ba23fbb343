import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { ChannelError, type Channel, type ChannelPlugin, type OutgoingMessage } from '../../hub/notify/channel.js';
import type { ContactBook, ContactRoute } from '../../hub/notify/types.js';
import type { AcceptedRequest, FailureMode, FakeProvider } from '../hub/notify/channel-conformance.js';

/**
 * A local "provider" for outbox tests, outside the hub (its own HTTP server, possibly in another
 * process than the hub), and the small channel plugin `http-test` that speaks to it. The provider
 * keys idempotency on the `Idempotency-Key` header as real providers do on theirs (Aliyun OutId,
 * WeCom msg uuid…): a request whose key it has accepted already answers with the same message id and
 * is NOT delivered again. It counts deliveries and requests by key, so a test can say "each
 * notification arrived exactly once" and "the hub retried it".
 *
 * Test-only: the plugin is given to the hub through HubDeps.channelPlugins, never through the
 * shipped registry (hub/notify/channels/index.ts).
 */

export type ProviderFailure = FailureMode | 'rejected';

export interface NotifyProvider extends FakeProvider {
  readonly url: string;
  /** Requests received per idempotency key (duplicates included). */
  readonly requests: Map<string, number>;
  /** Deliveries per idempotency key: what reached a person (at most 1 when the hub behaves). */
  readonly deliveries: Map<string, number>;
  /** Make the next `n` requests fail (timeout: never answered; rejected: 400, not retryable). */
  failNext(mode: ProviderFailure, n?: number): void;
  /** Fail every request this way until `recover()`. */
  failAll(mode: ProviderFailure): void;
  recover(): void;
  /** Answer (successfully) only after this long. */
  delayMs: number;
  /** Fires on every delivery. */
  onDelivery?: (r: AcceptedRequest & { at: number }) => void;
  /** When each delivery happened (ms). */
  readonly deliveredAt: Map<string, number>;
  close(): Promise<void>;
}

export const PROVIDER_TOKEN = 'provider-token-5f1e9a';

export async function startNotifyProvider(opts: { token?: string; port?: number } = {}): Promise<NotifyProvider> {
  const token = opts.token ?? PROVIDER_TOKEN;
  const failures: ProviderFailure[] = [];
  let always: ProviderFailure | null = null;
  const hanging = new Set<ServerResponse>();
  const provider = {
    url: '',
    accepted: [] as AcceptedRequest[],
    refused: [] as string[],
    requests: new Map<string, number>(),
    deliveries: new Map<string, number>(),
    deliveredAt: new Map<string, number>(),
    delayMs: 0,
    onDelivery: undefined as NotifyProvider['onDelivery'],
    failNext(mode: ProviderFailure, n = 1) {
      for (let i = 0; i < n; i++) failures.push(mode);
    },
    failAll(mode: ProviderFailure) {
      always = mode;
    },
    recover() {
      always = null;
      failures.length = 0;
    },
    async close() {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const reply = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/messages') return reply(res, 404, { code: 'NotFound' });
    if (req.headers.authorization !== `Bearer ${token}`) {
      provider.refused.push('bad token');
      return reply(res, 401, { code: 'InvalidToken', message: 'the token is not valid' });
    }
    const key = String(req.headers['idempotency-key'] ?? '');
    let body: { to?: string; text?: string };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return reply(res, 400, { code: 'BadJson' });
    }
    if (!key || typeof body.to !== 'string' || typeof body.text !== 'string') return reply(res, 400, { code: 'MissingParameter' });
    provider.requests.set(key, (provider.requests.get(key) ?? 0) + 1);
    const failure = failures.shift() ?? always;
    if (failure === 'timeout') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return; // never answered
    }
    if (failure === 'server-error') return reply(res, 500, { code: 'InternalError', message: 'try again later' });
    if (failure === 'rate-limited') return reply(res, 429, { code: 'Throttling', message: 'too many requests' }, { 'retry-after': '1' });
    if (failure === 'rejected') return reply(res, 400, { code: 'InvalidRecipient', message: 'the number is not valid' });
    if (provider.delayMs > 0) await new Promise((r) => setTimeout(r, provider.delayMs));
    // Idempotent by key: a retry of an accepted message answers the same, delivers nothing new.
    if (!provider.deliveries.has(key)) {
      provider.deliveries.set(key, 1);
      provider.deliveredAt.set(key, Date.now());
      const r = { to: body.to, text: body.text, idempotencyKey: key };
      provider.accepted.push(r);
      provider.onDelivery?.({ ...r, at: Date.now() });
    }
    reply(res, 200, { code: 'OK', messageId: `msg-${key}` });
  };
  const server: Server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', () => r()));
  provider.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return provider as NotifyProvider;
}

const HttpTestConfig = z
  .object({
    url: z.url().describe('The local provider\'s base URL'),
    token: z.string().min(6).describe('Bearer token the provider checks (a secret)'),
    perMinute: z.number().int().min(1).default(600).describe('Messages per minute this instance may send'),
  })
  .strict();

function recipient(msg: OutgoingMessage): string {
  switch (msg.to.kind) {
    case 'phone':
      return msg.to.phone;
    case 'wecom-user':
      return msg.to.userId;
    case 'push':
      return msg.to.subscription.endpoint;
    case 'group':
      return 'group';
  }
}

/** The test plugin: POST {to, title, text} with the row id as Idempotency-Key. */
export const HTTP_TEST_PLUGIN: ChannelPlugin<typeof HttpTestConfig> = {
  type: 'http-test',
  config: HttpTestConfig,
  secrets: ['token'],
  create(id, config): Channel {
    return {
      type: 'http-test',
      id,
      accepts: ['phone', 'wecom-user', 'group', 'push'],
      perMinute: config.perMinute,
      async send(msg, { signal }) {
        let res: Response;
        try {
          res = await fetch(`${config.url}/v1/messages`, {
            method: 'POST',
            headers: { authorization: `Bearer ${config.token}`, 'content-type': 'application/json', 'idempotency-key': msg.id },
            body: JSON.stringify({ to: recipient(msg), title: msg.title, text: msg.text }),
            signal,
          });
        } catch (err) {
          if (signal.aborted) throw new ChannelError('RB_ERR_NOTIFY_TIMEOUT', 'no answer from the provider in time');
          throw new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', `provider unreachable: ${(err as Error).message}`);
        }
        const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string; messageId?: string };
        if (res.ok) return { state: 'sent', ...(body.messageId ? { providerId: body.messageId } : {}) };
        const what = `HTTP ${res.status} ${body.code ?? ''}: ${body.message ?? ''}`.trim();
        if (res.status === 429) {
          const after = Number(res.headers.get('retry-after'));
          throw new ChannelError('RB_ERR_NOTIFY_RATE_LIMITED', what, Number.isFinite(after) && after > 0 ? after * 1000 : undefined);
        }
        if (res.status === 401 || res.status === 403) throw new ChannelError('RB_ERR_NOTIFY_AUTH', what);
        if (res.status >= 500) throw new ChannelError('RB_ERR_NOTIFY_UNAVAILABLE', what);
        throw new ChannelError('RB_ERR_NOTIFY_REJECTED', what);
      },
    };
  },
};

/** A contact book of fixed routes (the real one is hub/notify's contact book). */
export function staticContactBook(people: Record<string, ContactRoute[]>, groups: Record<string, ContactRoute[]> = {}): ContactBook {
  return {
    routesFor: (userId) => people[userId] ?? [],
    groupRoutes: (estate) => groups[estate] ?? [],
    userByPhone: (phone) => Object.entries(people).find(([, routes]) => routes.some((r) => r.address.kind === 'phone' && r.address.phone === phone))?.[0],
  };
}

export const phoneRoute = (channelId: string, phone: string, over: Partial<ContactRoute> = {}): ContactRoute => ({
  channelId,
  address: { kind: 'phone', phone },
  lang: 'zh-CN',
  fallback: false,
  ...over,
});
