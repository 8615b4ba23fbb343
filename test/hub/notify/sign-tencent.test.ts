import { describe, expect, it } from 'vitest';
import { tc3Authorization, tc3Date, tc3Parts, tc3Signature, tc3SigningKeys } from '../../../hub/notify/channels/sign-tencent.js';

/**
 * Tencent Cloud's worked example of 签名方法 v3 (TC3-HMAC-SHA256): CVM DescribeInstances in
 * ap-guangzhou at X-TC-Timestamp 1551113065, body below (its escapes are literal: the example signs
 * the JSON exactly as it goes on the wire). The document has been published in two editions:
 * - the earlier one signs content-type;host (HashedCanonicalRequest 5ffe6a04…) and states the final
 *   Signature for its example SecretKey (2230eefd… for the masked key as printed in the Chinese
 *   edition, 72e494ea… for "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE" in the English one);
 * - the current one also signs x-tc-action (HashedCanonicalRequest 7019a55b…), masks the SecretKey
 *   but prints the derived SecretDate, SecretService and SecretSigning, and Signature 10b1a37a….
 */
const payload = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}';
const base = { method: 'POST' as const, payload, service: 'cvm', timestamp: 1551113065 };
const ct = 'application/json; charset=utf-8';

describe('Tencent TC3-HMAC-SHA256 (published example)', () => {
  it('the UTC date of the timestamp, not the local one', () => {
    expect(tc3Date(1551113065)).toBe('2019-02-25');
  });

  it('reproduces the current edition: canonical request, string to sign, derived keys, signature', () => {
    const parts = tc3Parts({ ...base, headers: { 'Content-Type': ct, Host: 'cvm.tencentcloudapi.com', 'X-TC-Action': 'DescribeInstances' } });
    expect(parts.canonicalRequest).toBe(
      'POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\nx-tc-action:describeinstances\n\n' +
        'content-type;host;x-tc-action\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064',
    );
    expect(parts.stringToSign).toBe('TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84');
    // The masked example key, as printed (32 asterisks), derives exactly the published keys.
    const keys = tc3SigningKeys('*'.repeat(32), '2019-02-25', 'cvm');
    expect(keys.secretDate.toString('hex')).toBe('da98fb70dcf6b112dc21038d1eeeb3a95c74b4dcb12c1131f864f6066bd02be0');
    expect(keys.secretService.toString('hex')).toBe('8d70cbefb03939f929db64d32dc2ba89b1095620119fe3e050e2b18c5bd2752f');
    expect(keys.secretSigning.toString('hex')).toBe('b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af');
    const published = Buffer.from('b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af', 'hex');
    expect(tc3Signature(published, parts.stringToSign)).toBe('10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f');
  });

  it('reproduces the earlier edition (content-type;host) and its Authorization header', () => {
    const req = { ...base, headers: { 'content-type': ct, host: 'cvm.tencentcloudapi.com' } };
    const { parts } = tc3Authorization('x', 'y', req);
    expect(parts.canonicalRequest).toBe(
      'POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n' +
        '35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064',
    );
    expect(parts.stringToSign).toBe('TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031');
    const zh = tc3Authorization('AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******', 'Gu5t9xGARNpq86cd98joQYCN3*******', req);
    expect(zh.authorization).toBe(
      'TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, ' +
        'Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c',
    );
    expect(tc3Authorization('AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE', 'Gu5t9xGARNpq86cd98joQYCN3EXAMPLE', req).signature).toBe(
      '72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168',
    );
  });

  it('a different secret, day or body gives a different signature', () => {
    const req = { ...base, headers: { 'content-type': ct, host: 'h' } };
    const a = tc3Authorization('id', 'k1', req).signature;
    expect(tc3Authorization('id', 'k2', req).signature).not.toBe(a);
    expect(tc3Authorization('id', 'k1', { ...req, timestamp: base.timestamp + 86_400 }).signature).not.toBe(a);
    expect(tc3Authorization('id', 'k1', { ...req, payload: '{}' }).signature).not.toBe(a);
  });
});
