import { createHash, createHmac, randomUUID } from 'node:crypto';
import { startProviderServer, type Answer, type ProviderServer, type Received } from './server.js';

/**
 * A local Tencent Cloud SMS endpoint (API 3.0 SendSms, 2021-01-11). It checks each request as the
 * documents say, with its own verifier (not the channel's signer): the common headers
 * (X-TC-Action/Timestamp/Version/Region), the Authorization header's form, the SecretId, the
 * timestamp window (5 minutes) and its UTC date in the credential scope, then recomputes the
 * TC3-HMAC-SHA256 signature from the headers named in SignedHeaders and the body bytes received. It
 * answers as Tencent does: HTTP 200 with {"Response":{"Error":{Code,Message},RequestId}} for API
 * errors, and {"Response":{"SendStatusSet":[{…,"Code":"Ok"}],RequestId}} with a per-number Code.
 */

export interface TencentProviderOptions {
  secretId: string;
  secretKey: string;
  smsSdkAppId: string;
  signNames: string[];
  /** Approved templates: id → text with {1}, {2}, … */
  templates: Record<string, string>;
}

export interface TencentProvider extends ProviderServer {
  /** Answer the next signed request with this code: `Error.Code` when `whole`, else the number's SendStatus Code. */
  answerNext(code: string, opts?: { whole?: boolean; message?: string }): void;
  readonly lastBody: Record<string, unknown> | undefined;
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const hmac = (k: Buffer | string, m: string): Buffer => createHmac('sha256', k).update(m).digest();

const apiError = (Code: string, Message: string): Answer => ({ status: 200, body: { Response: { Error: { Code, Message }, RequestId: randomUUID() } } });

const MESSAGES: Record<string, string> = {
  'AuthFailure.SignatureFailure': 'The provided credentials could not be validated. Please check your signature is correct.',
  'AuthFailure.SecretIdNotFound': 'The SecretId is not found, please ensure that your SecretId is correct.',
  'AuthFailure.SignatureExpire': 'Signature expired. Timestamp and server time cannot differ by more than five minutes.',
  'LimitExceeded.PhoneNumberThirtySecondLimit': 'the number of sms messages sent from a single mobile number within 30 seconds exceeds the upper limit',
  'LimitExceeded.PhoneNumberDailyLimit': 'the number of sms messages sent from a single mobile number every day exceeds the upper limit',
  'FailedOperation.TemplateIncorrectOrUnapproved': 'template is not approved or request content does not match the approved template content',
  'FailedOperation.SignatureIncorrectOrUnapproved': 'signature is not approved or signature format is incorrect',
  'FailedOperation.TemplateParamSetNotMatchApprovedTemplate': 'request content does not match template content',
  'InvalidParameterValue.IncorrectPhoneNumber': 'incorrect phone number format',
  'UnauthorizedOperation.SmsSdkAppIdVerifyFail': 'SmsSdkAppId verify fail',
  RequestLimitExceeded: 'Your current request times equals to `3000` in a second, which exceeds the frequency limit `3000` for a second.',
  InternalError: 'An internal error has occurred. Retry your request.',
};

const AUTH = /^TC3-HMAC-SHA256 Credential=([^/]+)\/(\d{4}-\d{2}-\d{2})\/([a-z]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

export async function startTencentProvider(opts: TencentProviderOptions): Promise<TencentProvider> {
  const scripted: { code: string; whole?: boolean; message?: string }[] = [];
  let lastBody: Record<string, unknown> | undefined;

  const server = await startProviderServer(
    (req: Received, book) => {
      const h = (name: string): string | undefined => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      if (req.method !== 'POST') return apiError('InvalidParameter', 'This client posts JSON.');
      for (const name of ['authorization', 'content-type', 'host', 'x-tc-action', 'x-tc-timestamp', 'x-tc-version', 'x-tc-region']) {
        if (!h(name)) return apiError('MissingParameter', `The request is missing a required header \`${name}\`.`);
      }
      const m = AUTH.exec(h('authorization')!);
      if (!m) return apiError('AuthFailure.InvalidAuthorization', 'Authorization in the request header is invalid.');
      const [, secretId, date, service, signedHeaders, signature] = m;
      if (secretId !== opts.secretId) {
        book.refused.push('AuthFailure.SecretIdNotFound');
        return apiError('AuthFailure.SecretIdNotFound', MESSAGES['AuthFailure.SecretIdNotFound']!);
      }
      const ts = Number(h('x-tc-timestamp'));
      if (!Number.isInteger(ts) || Math.abs(Date.now() / 1000 - ts) > 300) return apiError('AuthFailure.SignatureExpire', MESSAGES['AuthFailure.SignatureExpire']!);
      const names = signedHeaders!.split(';');
      if (!names.includes('content-type') || !names.includes('host') || date !== new Date(ts * 1000).toISOString().slice(0, 10) || service !== 'sms') {
        book.refused.push('AuthFailure.InvalidAuthorization');
        return apiError('AuthFailure.InvalidAuthorization', 'Authorization in the request header is invalid.');
      }
      // Recompute from what arrived: the named headers' values as received, the body's own bytes.
      const canonicalHeaders = names.map((n) => `${n}:${(h(n) ?? '').trim().toLowerCase()}\n`).join('');
      const canonical = `POST\n/\n${req.url.search.slice(1)}\n${canonicalHeaders}\n${signedHeaders}\n${sha256(req.raw)}`;
      const toSign = `TC3-HMAC-SHA256\n${ts}\n${date}/${service}/tc3_request\n${sha256(canonical)}`;
      const key = hmac(hmac(hmac(`TC3${opts.secretKey}`, date!), service!), 'tc3_request');
      if (createHmac('sha256', key).update(toSign).digest('hex') !== signature) {
        book.refused.push('AuthFailure.SignatureFailure');
        return apiError('AuthFailure.SignatureFailure', MESSAGES['AuthFailure.SignatureFailure']!);
      }
      if (h('x-tc-action') !== 'SendSms') return apiError('InvalidAction', 'The action does not exist.');
      if (h('x-tc-version') !== '2021-01-11') return apiError('NoSuchVersion', 'The API version does not exist.');
      if (!['ap-guangzhou', 'ap-beijing', 'ap-nanjing'].includes(h('x-tc-region')!)) return apiError('UnsupportedRegion', 'The region is not supported.');
      if (!h('content-type')!.startsWith('application/json')) return apiError('InvalidParameter', 'The body must be JSON.');

      let body: Record<string, unknown>;
      try {
        body = JSON.parse(req.raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        return apiError('FailedOperation.JsonParseFail', 'failed to parse the request body');
      }
      lastBody = body;
      const phones = body.PhoneNumberSet;
      if (!Array.isArray(phones) || phones.length === 0 || phones.length > 200) return apiError('MissingParameter', 'The request is missing a required parameter `PhoneNumberSet`.');
      for (const name of ['SmsSdkAppId', 'TemplateId']) if (typeof body[name] !== 'string') return apiError('MissingParameter', `The request is missing a required parameter \`${name}\`.`);
      if (body.SmsSdkAppId !== opts.smsSdkAppId) return apiError('UnauthorizedOperation.SmsSdkAppIdVerifyFail', MESSAGES['UnauthorizedOperation.SmsSdkAppIdVerifyFail']!);

      const limited = book.takeFailure() === 'rate-limited';
      const next = scripted.shift();
      if (next?.whole) return apiError(next.code, next.message ?? MESSAGES[next.code] ?? next.code);
      const set = (phones as unknown[]).map((phone) => {
        const p = String(phone);
        const status = (Code: string, extra: Record<string, unknown> = {}) => ({
          SerialNo: '',
          PhoneNumber: p,
          Fee: 0,
          SessionContext: String(body.SessionContext ?? ''),
          Code,
          Message: MESSAGES[Code] ?? Code,
          IsoCode: 'CN',
          ...extra,
        });
        if (limited) return status('LimitExceeded.PhoneNumberThirtySecondLimit');
        if (next) return status(next.code, next.message ? { Message: next.message } : {});
        if (!/^\+\d{6,15}$/.test(p)) return status('InvalidParameterValue.IncorrectPhoneNumber');
        if (!opts.signNames.includes(String(body.SignName ?? ''))) return status('FailedOperation.SignatureIncorrectOrUnapproved');
        const template = opts.templates[String(body.TemplateId)];
        if (template === undefined) return status('FailedOperation.TemplateIncorrectOrUnapproved');
        const values = Array.isArray(body.TemplateParamSet) ? body.TemplateParamSet.map(String) : [];
        const slots = new Set(template.match(/\{\d+\}/g) ?? []).size;
        if (values.length !== slots) return status('FailedOperation.TemplateParamSetNotMatchApprovedTemplate');
        const text = `【${String(body.SignName)}】${template.replace(/\{(\d+)\}/g, (_, n: string) => values[Number(n) - 1] ?? '')}`;
        book.accepted.push({ to: p, text, idempotencyKey: typeof body.SessionContext === 'string' ? body.SessionContext : undefined });
        return status('Ok', { SerialNo: `2028:${randomUUID().replace(/-/g, '').slice(0, 20)}`, Fee: 1, Message: 'send success' });
      });
      return { status: 200, body: { Response: { SendStatusSet: set, RequestId: randomUUID() } } };
    },
    { serverError: () => ({ status: 500, body: '<html><body>500 Internal Server Error</body></html>' }) },
  );

  Object.defineProperties(server, {
    answerNext: { value: (code: string, o: { whole?: boolean; message?: string } = {}) => scripted.push({ code, ...o }) },
    lastBody: { get: () => lastBody },
  });
  return server as TencentProvider;
}
