import { createHmac, randomUUID } from 'node:crypto';

/**
 * Alibaba Cloud RPC request signing, "signature method V2 for RPC APIs" (SignatureMethod=HMAC-SHA1,
 * SignatureVersion=1.0), as the Dysmsapi (SMS) and Dyvmsapi (voice) documents describe it:
 *
 *   1. Sort every request parameter except `Signature` by name.
 *   2. Percent-encode each name and value (UTF-8; only A-Z a-z 0-9 - _ . ~ stay literal, a space is
 *      %20, never +) and join them as `name=value&…`: the canonicalized query string.
 *   3. StringToSign = HTTPMethod + "&" + percentEncode("/") + "&" + percentEncode(canonicalized).
 *   4. Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)).
 *
 * Why this and not the newer V3 (`ACS3-HMAC-SHA256` Authorization header): the SMS product's own
 * document publishes a SendSms worked example in this scheme (AccessKeyId "testId", AccessKeySecret
 * "testSecret", StringToSign and Signature "zJDF+Lrzhj/ThnlvIToysFRq6t4="), as does the general RPC
 * page (ECS DescribeRegions with "testsecret" → "OLeaidS1JvxuMvnyHOwuJ+uX5qY="), so the test pins
 * this code against the provider's own numbers for the very API we call. Both Dysmsapi and Dyvmsapi
 * (2017-05-25) accept it. test/hub/notify/sign-aliyun.test.ts reproduces both examples.
 */

/** RFC 3986 percent-encoding as Alibaba Cloud's RPC signature wants it. */
export function aliyunPercentEncode(value: string): string {
  // encodeURIComponent leaves ! ' ( ) * alone; the RPC rules encode them too (and ~ stays literal).
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The canonicalized query string: sorted by name, each name and value percent-encoded. */
export function aliyunCanonicalQuery(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .filter((k) => k !== 'Signature')
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => `${aliyunPercentEncode(k)}=${aliyunPercentEncode(params[k]!)}`)
    .join('&');
}

export function aliyunStringToSign(method: 'GET' | 'POST', params: Readonly<Record<string, string>>): string {
  return `${method}&${aliyunPercentEncode('/')}&${aliyunPercentEncode(aliyunCanonicalQuery(params))}`;
}

export function aliyunSignature(method: 'GET' | 'POST', params: Readonly<Record<string, string>>, accessKeySecret: string): string {
  return createHmac('sha1', `${accessKeySecret}&`).update(aliyunStringToSign(method, params), 'utf8').digest('base64');
}

/** ISO 8601 UTC without milliseconds, e.g. 2017-07-12T02:42:19Z (the `Timestamp` parameter). */
export function aliyunTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface AliyunCredentials {
  accessKeyId: string;
  accessKeySecret: string;
}

/**
 * The full parameter set of one RPC call: the common parameters (Format=JSON, a fresh
 * SignatureNonce, Timestamp) plus the action's own, then `Signature` over all of them.
 */
export function aliyunSignedParams(
  method: 'GET' | 'POST',
  action: { Action: string; Version: string; RegionId?: string },
  params: Readonly<Record<string, string>>,
  cred: AliyunCredentials,
  nowMs: number,
  nonce: string = randomUUID(),
): Record<string, string> {
  const all: Record<string, string> = {
    AccessKeyId: cred.accessKeyId,
    Format: 'JSON',
    SignatureMethod: 'HMAC-SHA1',
    SignatureNonce: nonce,
    SignatureVersion: '1.0',
    Timestamp: aliyunTimestamp(nowMs),
    ...action,
    ...params,
  };
  all.Signature = aliyunSignature(method, all, cred.accessKeySecret);
  return all;
}
