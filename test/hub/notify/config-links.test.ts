import { describe, expect, it } from 'vitest';
import { NotifyLinksConfig } from '../../../hub/notify/config-links.js';

describe('notify config keys of ack links and replies', () => {
  it('defaults, and refusals that name the key', () => {
    expect(NotifyLinksConfig.parse({})).toEqual({ ackLinkTtl: '24h', replyCode: '1', ackRateLimit: 30 });
    expect(NotifyLinksConfig.parse({ publicUrl: 'https://rb.example.gov.cn', ackLinkTtl: '30m' })).toMatchObject({ publicUrl: 'https://rb.example.gov.cn', ackLinkTtl: '30m' });
    const issues = (v: unknown) => NotifyLinksConfig.safeParse(v).error?.issues.map((i) => i.message).join('; ') ?? '';
    expect(issues({ publicUrl: 'ftp://x' })).toMatch(/notify\.publicUrl/);
    expect(issues({ ackLinkTtl: '30s' })).toMatch(/notify\.ackLinkTtl/);
    expect(issues({ ackLinkTtl: '8d' })).toMatch(/notify\.ackLinkTtl/);
    expect(issues({ replyCode: '确认' })).toMatch(/notify\.replyCode/);
    for (const shape of Object.values(NotifyLinksConfig.shape)) expect(shape.description).toBeTruthy();
  });
});
