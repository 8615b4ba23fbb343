import pino from 'pino';
import { HTTP_TEST_PLUGIN, PROVIDER_TOKEN, startNotifyProvider } from '../../support/notify-provider.js';
import { channelConformance } from './channel-conformance.js';

/** The outbox tests' own channel and provider keep the contract every real channel keeps. */
channelConformance('http-test (the outbox tests\' provider)', async () => {
  const provider = await startNotifyProvider();
  const log = pino({ level: 'silent' });
  const make = (token: string, url = provider.url) => HTTP_TEST_PLUGIN.create('test', HTTP_TEST_PLUGIN.config.parse({ url, token }), { log });
  return {
    channel: make(PROVIDER_TOKEN),
    badSecretChannel: make('wrong-token-123'),
    unreachableChannel: make(PROVIDER_TOKEN, 'http://127.0.0.1:9'),
    provider,
    address: { kind: 'phone', phone: '13800138000' },
    secrets: [PROVIDER_TOKEN],
    close: () => provider.close(),
  };
});
