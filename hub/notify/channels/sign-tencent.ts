import { createHash, createHmac } from 'node:crypto';

/**
 * Tencent Cloud API 3.0 request signing, "签名方法 v3" (TC3-HMAC-SHA256), as its document describes:
 *
 *   CanonicalRequest = Method \n "/" \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n
 *                      hex(SHA256(payload))
 *     CanonicalHeaders: each signed header as lowercase(key) ":" lowercase(trim(value)) "\n", sorted
 *     by key; content-type and host at least. We also sign x-tc-action, as the current document's
 *     example does.
 *   StringToSign = "TC3-HMAC-SHA256" \n Timestamp \n Date/service/tc3_request \n hex(SHA256(CanonicalRequest))
 *     Date is the UTC date of X-TC-Timestamp (1551113065 is 2019-02-25 in UTC, 02-26 in UTC+8).
 *   SecretSigning = HMAC(HMAC(HMAC("TC3" + SecretKey, Date), service), "tc3_request")
 *   Signature = hex(HMAC(SecretSigning, StringToSign))
 *   Authorization = "TC3-HMAC-SHA256 Credential=" SecretId "/" scope ", SignedHeaders=" … ", Signature=" …
 *
 * test/hub/notify/sign-tencent.test.ts reproduces the document's CVM DescribeInstances example (its
 * canonical request, string to sign, derived keys and signature, in both published editions).
 */

export const TC3_ALGORITHM = 'TC3-HMAC-SHA256';

const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: string | Buffer, msg: string): Buffer => createHmac('sha256', key).update(msg, 'utf8').digest();

export interface Tc3Request {
  method: 'GET' | 'POST';
  /** The query string for GET (already URL-encoded); '' for POST. */
  query?: string;
  /** Headers to sign (name → value as sent); must contain content-type and host. */
  headers: Readonly<Record<string, string>>;
  payload: string;
  service: string;
  /** X-TC-Timestamp, seconds. */
  timestamp: number;
}

export interface Tc3Parts {
  canonicalRequest: string;
  signedHeaders: string;
  date: string;
  credentialScope: string;
  stringToSign: string;
}

/** UTC date of a Unix timestamp in seconds, YYYY-MM-DD. */
export function tc3Date(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().slice(0, 10);
}

export function tc3Parts(req: Tc3Request): Tc3Parts {
  const headers = Object.entries(req.headers)
    .map(([k, v]) => [k.toLowerCase().trim(), v.trim().toLowerCase()] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonicalHeaders = headers.map(([k, v]) => `${k}:${v}\n`).join('');
  const signedHeaders = headers.map(([k]) => k).join(';');
  const canonicalRequest = [req.method, '/', req.query ?? '', canonicalHeaders, signedHeaders, sha256Hex(req.payload)].join('\n');
  const date = tc3Date(req.timestamp);
  const credentialScope = `${date}/${req.service}/tc3_request`;
  const stringToSign = [TC3_ALGORITHM, String(req.timestamp), credentialScope, sha256Hex(canonicalRequest)].join('\n');
  return { canonicalRequest, signedHeaders, date, credentialScope, stringToSign };
}

/** The derived keys (SecretDate, SecretService, SecretSigning). */
export function tc3SigningKeys(secretKey: string, date: string, service: string): { secretDate: Buffer; secretService: Buffer; secretSigning: Buffer } {
  const secretDate = hmac(`TC3${secretKey}`, date);
  const secretService = hmac(secretDate, service);
  const secretSigning = hmac(secretService, 'tc3_request');
  return { secretDate, secretService, secretSigning };
}

export function tc3Signature(secretSigning: Buffer, stringToSign: string): string {
  return createHmac('sha256', secretSigning).update(stringToSign, 'utf8').digest('hex');
}

/** The Authorization header value for one request. */
export function tc3Authorization(secretId: string, secretKey: string, req: Tc3Request): { authorization: string; parts: Tc3Parts; signature: string } {
  const parts = tc3Parts(req);
  const signature = tc3Signature(tc3SigningKeys(secretKey, parts.date, req.service).secretSigning, parts.stringToSign);
  const authorization = `${TC3_ALGORITHM} Credential=${secretId}/${parts.credentialScope}, SignedHeaders=${parts.signedHeaders}, Signature=${signature}`;
  return { authorization, parts, signature };
}
