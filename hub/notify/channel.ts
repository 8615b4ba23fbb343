import type { ERRORS, ErrorCode } from '../../protocol/errors.js';

/**
 * One notification channel: a way to reach a person (or an estate's group chat) that does not need a
 * hub page open. Every provider (SMS clouds, voice, WeCom/DingTalk/Feishu robots, the WeCom app,
 * Web Push, a local GSM modem through gammu-smsd, a signed webhook) is a plugin behind this one
 * interface and passes one conformance suite (test/hub/notify/channel-conformance.ts), as the
 * device drivers do.
 *
 * A channel only sends. The outbox (hub/notify/outbox.ts) owns retries, backoff, rate limits,
 * fan-out caps and the one-notification-per-person-per-level rule; it calls `send` for one queued
 * row at a time and records what `send` returns or throws.
 */

/** Where one message goes. */
export type Address =
  /** A mobile number: SMS, voice call, GSM modem. Mainland numbers as 11 digits or E.164 (+86…). */
  | { kind: 'phone'; phone: string }
  /** A member of the WeCom corp (企业微信 userid), for the WeCom application message. */
  | { kind: 'wecom-user'; userId: string }
  /** A Web Push subscription (PushSubscription.toJSON() of the phone view installed as a PWA). */
  | { kind: 'push'; subscription: { endpoint: string; keys: { p256dh: string; auth: string } } }
  /** A group robot or a webhook: the address is the channel's own configuration. */
  | { kind: 'group' };

export type AddressKind = Address['kind'];

export type Lang = 'zh-CN' | 'en';

/** One message to send: already rendered in the recipient's language. */
export interface OutgoingMessage {
  /**
   * The outbox row's id (a ULID). Stable across retries and restarts: channels pass it to the provider
   * as the idempotency key where the provider has one (OutId, SessionContext, msg uuid, webhook
   * header), so a retry after a crash is recognised, never sent twice by a provider that honours it.
   */
  id: string;
  to: Address;
  lang: Lang;
  /** The alert it is about (or `test:<ulid>` for a "send a test" message). */
  alertId: string;
  severity: number;
  /** Short title, e.g. "【红管家】强行开门 · 幸福里 3号门". */
  title: string;
  /** Plain text body, e.g. what an SMS or a robot shows. Ends with the one-tap ack link when there is one. */
  text: string;
  /**
   * The same facts as named fields, for providers that send only approved templates (SMS, voice):
   * each value is plain text without the template's fixed words.
   */
  params: {
    estate: string;
    device: string;
    /** What happened, e.g. "强行开门" / "door forced". */
    event: string;
    /** Local time, "HH:mm". */
    time: string;
    /** Short code to reply with (e.g. "1"); an SMS reply with it acknowledges. */
    reply: string;
  };
  /** Signed one-tap acknowledge link (no login); absent for test messages. */
  ackUrl?: string;
}

export interface SendOutcome {
  /** The provider's message id (BizId, SerialNo, msgid, …) when it answers with one. */
  providerId?: string;
  /** 'delivered' only when the answer itself proves arrival; usually 'sent' (delivery comes later, if at all). */
  state: 'sent' | 'delivered';
}

/** The notification codes of the catalogue (protocol/errors.ts, `where: 'notify'`). */
export type ChannelErrorCode = { [K in ErrorCode]: (typeof ERRORS)[K] extends { where: 'notify' } ? K : never }[ErrorCode];

/** Codes the outbox retries (with backoff); the others fail the row at once. */
const RETRYABLE: ReadonlySet<ChannelErrorCode> = new Set(['RB_ERR_NOTIFY_UNAVAILABLE', 'RB_ERR_NOTIFY_TIMEOUT', 'RB_ERR_NOTIFY_RATE_LIMITED']);

/**
 * A failed send. Its message says what the provider answered (code and text) and never contains a
 * secret, a token or a signature: it is stored on the outbox row and shown on the alert view.
 */
export class ChannelError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly code: ChannelErrorCode,
    message: string,
    /** For RATE_LIMITED: how long the provider asked to wait, when it said. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ChannelError';
    this.retryable = RETRYABLE.has(code);
  }
}

export interface SendOptions {
  /** Aborted when the outbox gives up waiting (its per-send timeout) or the hub stops. */
  signal: AbortSignal;
}

export interface Channel {
  /** The plugin, e.g. 'sms-aliyun', 'wecom-robot', 'webpush', 'gammu'. */
  readonly type: string;
  /** This configured instance, unique in the hub's config, e.g. 'aliyun' or 'robot-xingfuli'. */
  readonly id: string;
  /** Address kinds it can send to. */
  readonly accepts: readonly AddressKind[];
  /** The provider's documented limit that the outbox keeps to (messages per minute for this instance). */
  readonly perMinute: number;
  /**
   * Send one message. Resolves when the provider accepted it; throws ChannelError otherwise
   * (a network error or an abort becomes RB_ERR_NOTIFY_UNAVAILABLE or RB_ERR_NOTIFY_TIMEOUT).
   */
  send(msg: OutgoingMessage, opts: SendOptions): Promise<SendOutcome>;
  /**
   * Replies that reach this channel by itself (a GSM modem's inbox) rather than over an HTTP
   * callback (`ChannelPlugin.inbound`). The channel starts watching on the first subscription and
   * hands each reply over at least once: it counts as handled when `fn` resolves (a rejected reply is
   * offered again). Returns the unsubscribe function.
   */
  onReply?(fn: (reply: InboundReply) => void | Promise<void>): () => void;
  /** Stop background work (token refresh, inbox watch); idempotent. */
  close?(): Promise<void>;
}

/**
 * A reply that came back through a channel (an SMS answered with "1" via the gammu inbox or a
 * provider's upstream-SMS callback). The notification service matches it to the person by number
 * and to their newest open notified alert.
 */
export interface InboundReply {
  channelId: string;
  from: string;
  text: string;
  receivedAt: number;
}

/** Redact a secret for logs and errors: keep nothing of it but its length class. */
export const redacted = (s: string | undefined): string => (s ? `[redacted ${s.length > 16 ? 'long' : 'short'}]` : '[none]');

/** What a plugin gets besides its config. */
export interface ChannelDeps {
  log: import('pino').Logger;
  now?: () => number;
  /** The hub database, for plugins that keep state of their own there (web push: its VAPID key pair). */
  db?: import('../platform/db/index.js').HubDatabase;
  /**
   * Web push subscriptions (hub/notify/webpush-store.ts): told when a push service answers 404/410
   * (the subscription is dead: it leaves the contact book) and when a push was accepted.
   */
  pushSubscriptions?: { gone(endpoint: string): Promise<void>; succeeded(endpoint: string, at?: number): Promise<void> };
}

/**
 * A channel plugin: one file in hub/notify/channels/ per provider, listed in
 * hub/notify/channels/index.ts. The hub config's `notify.channels` holds instances
 * (`{id, type, …config}`); each is parsed with `config` and built with `create`.
 */
export interface ChannelPlugin<C extends import('zod').ZodType = import('zod').ZodType> {
  readonly type: string;
  /** Zod schema of one instance's own keys (not `id`/`type`), each with `.describe()` for docs/configuration.md. */
  readonly config: C;
  /** Config keys holding secrets: redacted in logs and REST, never echoed. */
  readonly secrets: readonly string[];
  create(id: string, config: import('zod').output<C>, deps: ChannelDeps): Channel;
  /**
   * For providers that push replies to us over HTTP (upstream SMS callbacks): turn one callback
   * request into replies, after checking it came from the provider where the provider signs it.
   * Mounted at `POST /api/v1/notify/inbound/:channelId`. Throws ChannelError('RB_ERR_NOTIFY_AUTH') for
   * a request that fails the check. `query` is the request URL's query: providers that do not sign
   * their callbacks (Tencent's 回复短信, Aliyun's SmsUp) are secured by a token in the callback URL.
   */
  inbound?(
    config: import('zod').output<C>,
    req: {
      /** The configured instance the callback came for (`:channelId`): the replies carry it. */
      channelId?: string;
      headers: Record<string, string | string[] | undefined>;
      query?: Record<string, string | string[] | undefined>;
      body: unknown;
      rawBody: Buffer;
    },
  ): InboundReply[];
  /**
   * The JSON body the provider expects back from a callback it delivered (e.g. Tencent
   * `{"result":0,"errmsg":"OK"}`, Aliyun `{"code":0,"msg":"接收成功"}`); absent: any 2xx will do.
   */
  readonly inboundAnswer?: unknown;
}
