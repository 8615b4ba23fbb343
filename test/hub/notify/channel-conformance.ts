import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import { ChannelError, type Address, type Channel, type OutgoingMessage } from '../../../hub/notify/channel.js';

/**
 * One conformance suite for every notification channel (as test/devices' driver conformance): a
 * channel plugin passes it against its provider's local server, which checks each request exactly as
 * the provider's documentation says (signature, headers, body shape) and answers with the documented
 * success and error bodies.
 *
 *   channelConformance('DingTalk robot', async () => ({ channel, badSecretChannel, provider, address, secrets, close }));
 */

/** What a provider's local server saw and accepted. */
export interface AcceptedRequest {
  /** The recipient as the provider understood it (phone number, user id, endpoint, or 'group'). */
  to: string;
  /** All human-readable text the provider would show or speak (message text, or template params joined). */
  text: string;
  /** The idempotency key the request carried, when the provider has one. */
  idempotencyKey?: string;
}

export type FailureMode = 'server-error' | 'timeout' | 'rate-limited';

export interface FakeProvider {
  /** Requests with a valid signature that the provider accepted, in order. */
  readonly accepted: AcceptedRequest[];
  /** Requests refused for their credentials or signature, with the provider's reason. */
  readonly refused: string[];
  /** Make the next `n` (default 1) requests fail this way (timeout: the server never answers). */
  failNext(mode: FailureMode, n?: number): void;
}

export interface ChannelFixture {
  /** Configured with the right credentials against `provider`. */
  channel: Channel;
  /** The same provider, wrong secret: every send must be refused as RB_ERR_NOTIFY_AUTH. Omit where there is no secret. */
  badSecretChannel?: Channel;
  provider: FakeProvider;
  address: Address;
  /** Every secret, token and key in the channel's config: none may appear in an error. */
  secrets: string[];
  /** Failure modes the provider's server can produce (default: all three). */
  modes?: FailureMode[];
  /** The provider carries `msg.id` as its idempotency key (default true). */
  idempotent?: boolean;
  /** A channel configured against a port where nothing listens. */
  unreachableChannel?: Channel;
  close(): Promise<void>;
}

export function message(to: Address, over: Partial<OutgoingMessage> = {}): OutgoingMessage {
  const id = ulid();
  return {
    id,
    to,
    lang: 'zh-CN',
    alertId: `alert-${id}`,
    severity: 3,
    title: '【红管家】强行开门 · 幸福里',
    text: '幸福里 3号楼单元门 02:58 强行开门。回复 1 确认。',
    params: { estate: '幸福里', device: '3号楼单元门', event: '强行开门', time: '02:58', reply: '1' },
    ackUrl: `http://127.0.0.1:9/a/${id}`,
    ...over,
  };
}

async function failure(p: Promise<unknown>): Promise<ChannelError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ChannelError);
    return err as ChannelError;
  }
  throw new Error('the send was expected to fail');
}

export function channelConformance(name: string, setup: () => Promise<ChannelFixture>): void {
  describe(`channel conformance: ${name}`, () => {
    let f: ChannelFixture;
    const errors: ChannelError[] = [];
    const modes = (): FailureMode[] => f.modes ?? ['server-error', 'timeout', 'rate-limited'];
    const send = (over: Partial<OutgoingMessage> = {}, timeoutMs = 10_000) =>
      f.channel.send(message(f.address, over), { signal: AbortSignal.timeout(timeoutMs) });

    beforeAll(async () => {
      f = await setup();
    }, 60_000);
    afterAll(async () => {
      await f?.channel.close?.();
      await f?.badSecretChannel?.close?.();
      await f?.unreachableChannel?.close?.();
      await f?.close();
    });

    it('declares what it accepts and a positive rate limit', () => {
      expect(f.channel.accepts).toContain(f.address.kind);
      expect(f.channel.perMinute).toBeGreaterThan(0);
      expect(f.channel.id).toMatch(/\S/);
      expect(f.channel.type).toMatch(/^[a-z0-9-]+$/);
    });

    it('sends one message that the provider accepts, with the text a person reads', async () => {
      const before = f.provider.accepted.length;
      const msg = message(f.address);
      const out = await f.channel.send(msg, { signal: AbortSignal.timeout(10_000) });
      expect(['sent', 'delivered']).toContain(out.state);
      expect(f.provider.accepted.length).toBe(before + 1);
      const got = f.provider.accepted.at(-1)!;
      // Free-text channels carry the text; template channels at least every param of it.
      expect(got.text).toContain(msg.params.event);
      expect(got.text).toContain(msg.params.estate);
      if (f.idempotent ?? true) expect(got.idempotencyKey).toBe(msg.id);
    });

    it('a provider error is a retryable RB_ERR_NOTIFY_UNAVAILABLE, and the next send goes through', async (ctx) => {
      if (!modes().includes('server-error')) return ctx.skip();
      f.provider.failNext('server-error');
      const err = await failure(send());
      errors.push(err);
      expect(err.code).toBe('RB_ERR_NOTIFY_UNAVAILABLE');
      expect(err.retryable).toBe(true);
      const before = f.provider.accepted.length;
      await send();
      expect(f.provider.accepted.length).toBe(before + 1);
    });

    it('a provider that never answers is a retryable RB_ERR_NOTIFY_TIMEOUT once the signal aborts', async (ctx) => {
      if (!modes().includes('timeout')) return ctx.skip();
      f.provider.failNext('timeout');
      const t0 = Date.now();
      const err = await failure(send({}, 500));
      errors.push(err);
      expect(err.code).toBe('RB_ERR_NOTIFY_TIMEOUT');
      expect(err.retryable).toBe(true);
      // It gave up when told, not on some timer of its own much later.
      expect(Date.now() - t0).toBeLessThan(5_000);
    });

    it('rate limiting is a retryable RB_ERR_NOTIFY_RATE_LIMITED', async (ctx) => {
      if (!modes().includes('rate-limited')) return ctx.skip();
      f.provider.failNext('rate-limited');
      const err = await failure(send());
      errors.push(err);
      expect(err.code).toBe('RB_ERR_NOTIFY_RATE_LIMITED');
      expect(err.retryable).toBe(true);
    });

    it('a wrong secret is refused as RB_ERR_NOTIFY_AUTH, not retried', async (ctx) => {
      if (!f.badSecretChannel) return ctx.skip();
      const refused = f.provider.refused.length;
      const err = await failure(f.badSecretChannel.send(message(f.address), { signal: AbortSignal.timeout(10_000) }));
      errors.push(err);
      expect(err.code).toBe('RB_ERR_NOTIFY_AUTH');
      expect(err.retryable).toBe(false);
      expect(f.provider.refused.length).toBeGreaterThan(refused);
    });

    it('a provider nobody answers for is a retryable failure', async (ctx) => {
      if (!f.unreachableChannel) return ctx.skip();
      const err = await failure(f.unreachableChannel.send(message(f.address), { signal: AbortSignal.timeout(5_000) }));
      errors.push(err);
      expect(err.retryable).toBe(true);
    });

    it('no error names a secret, a token or a key', () => {
      expect(errors.length).toBeGreaterThan(0);
      const texts = errors.map((e) => `${String(e)} ${e.stack ?? ''} ${JSON.stringify(e)} ${JSON.stringify({ ...e })}`).join('\n');
      for (const s of f.secrets) {
        expect(s.length).toBeGreaterThanOrEqual(6);
        expect(texts).not.toContain(s);
      }
    });
  });
}
