import { describe, expect, it } from 'vitest';
import { resolveHubConfig } from '../../../hub/config.js';
import type { ConfigError } from '../../../lib/config-errors.js';
import { HTTP_TEST_PLUGIN } from '../../support/notify-provider.js';

const plugins = [HTTP_TEST_PLUGIN];
const problems = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
};

describe('hub config: notify', () => {
  it('has described defaults and builds channel instances checked by their plugin', () => {
    const c = resolveHubConfig({ notify: { channels: [{ id: 'sms', type: 'http-test', url: 'http://127.0.0.1:1', token: 'secret-123' }] } }, {}, { plugins });
    expect(c.notify).toMatchObject({ sendTimeoutMs: 10_000, retry: { baseMs: 2_000, maxMs: 120_000, attempts: 6 }, maxPerAlert: 200, pollMs: 5_000 });
    expect(c.notify.publicUrl).toBeUndefined();
    expect(c.notify.channels).toEqual([{ id: 'sms', type: 'http-test', url: 'http://127.0.0.1:1', token: 'secret-123' }]);
    expect(Object.isFrozen(c.notify.channels[0])).toBe(true);
  });

  it('names the key path of every problem: unknown type, a plugin key, an unknown key, a duplicate id', () => {
    const got = problems(() =>
      resolveHubConfig(
        {
          notify: {
            channels: [
              { id: 'a', type: 'nope' },
              { id: 'b', type: 'http-test', url: 'http://127.0.0.1:1', token: 'x', extra: 1 },
              { id: 'b', type: 'http-test', url: 'not a url', token: 'secret-123' },
            ],
          },
        },
        {},
        { plugins },
      ),
    );
    const paths = got.map((p) => p.path);
    expect(paths).toEqual(['notify.channels[0].type', 'notify.channels[1].token', 'notify.channels[1].extra', 'notify.channels[2].id', 'notify.channels[2].url']);
    expect(got[0]!.message).toBe('unknown channel type "nope"; known: http-test');
    expect(got[3]!.message).toBe('duplicate channel id "b"');
    // A value given is never echoed in the message (it may be a secret).
    expect(JSON.stringify(got)).not.toContain('secret-123');
  });

  it('refuses a type no plugin of the registry has, and reads RB_NOTIFY_CHANNELS as JSON', () => {
    expect(problems(() => resolveHubConfig({ notify: { channels: [{ id: 'a', type: 'http-test' }] } }, {}, { plugins: [] }))[0]).toEqual({
      path: 'notify.channels[0].type',
      message: 'unknown channel type "http-test"; known: (none)',
    });
    // The shipped registry knows the real plugins and not the tests' own.
    const shipped = problems(() => resolveHubConfig({ notify: { channels: [{ id: 'a', type: 'http-test' }] } }, {}))[0]!;
    expect(shipped.message).toMatch(/^unknown channel type "http-test"; known: .*sms-aliyun.*wecom-robot/);
    const env = { RB_NOTIFY_CHANNELS: JSON.stringify([{ id: 'env', type: 'http-test', url: 'http://127.0.0.1:2', token: 'secret-456' }]), RB_NOTIFY_RETRY_ATTEMPTS: '3' };
    const c = resolveHubConfig({}, env, { plugins });
    expect(c.notify.channels.map((x) => x.id)).toEqual(['env']);
    expect(c.notify.retry.attempts).toBe(3);
    expect(problems(() => resolveHubConfig({}, { RB_NOTIFY_CHANNELS: 'not json' }, { plugins }))[0]!.path).toBe('notify.channels');
  });
});
