import { createHmac, randomUUID } from 'node:crypto';
import { startProviderServer, type Answer, type ProviderServer, type Received } from './server.js';

/**
 * A local Alibaba Cloud RPC endpoint for Dysmsapi SendSms or Dyvmsapi SingleCallByTts (2017-05-25).
 * It checks each request as Aliyun documents it, with its own small verifier (not the channel's
 * signer): the common parameters, the AccessKeyId, the HMAC-SHA1 signature recomputed from the
 * parameters received, the timestamp window (15 minutes), nonce reuse, then the action's own
 * parameters against the sign names and templates it knows. It answers with the documented bodies:
 * {"Code":"OK","BizId"|"CallId",…}, HTTP 404 InvalidAccessKeyId.NotFound, HTTP 400
 * SignatureDoesNotMatch (echoing its string to sign, as Aliyun does), HTTP 200 isv.* business codes.
 */

export interface AliyunProviderOptions {
  product: 'sms' | 'voice';
  accessKeyId: string;
  accessKeySecret: string;
  /** Approved sign names (SMS). */
  signNames?: string[];
  /** Approved templates: code → text with ${variable}s. */
  templates: Record<string, string>;
}

export interface AliyunProvider extends ProviderServer {
  /** Answer the next signed request with this business code (and Aliyun's message for it). */
  answerNext(code: string, message?: string): void;
  /** Parameters of the last request that passed the signature check. */
  readonly lastParams: Record<string, string> | undefined;
}

/** RFC 3986 percent-encoding written out byte by byte: only A-Z a-z 0-9 - _ . ~ stay literal. */
function encode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function expectedSignature(method: string, params: Record<string, string>, secret: string): { stringToSign: string; signature: string } {
  const keys = Object.keys(params).filter((k) => k !== 'Signature');
  keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const canonical = keys.map((k) => `${encode(k)}=${encode(params[k]!)}`).join('&');
  const stringToSign = `${method}&${encode('/')}&${encode(canonical)}`;
  return { stringToSign, signature: createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64') };
}

const aliyunAnswer = (status: number, Code: string, Message: string, extra: Record<string, unknown> = {}): Answer => ({
  status,
  body: { RequestId: randomUUID().toUpperCase(), Code, Message, ...extra },
});

/** Documented messages of the business codes the tests provoke. */
const MESSAGES: Record<string, string> = {
  'isv.BUSINESS_LIMIT_CONTROL': '触发分钟级流控Permits:1',
  'isv.SMS_TEMPLATE_ILLEGAL': '该账号下找不到对应模板',
  'isv.SMS_SIGNATURE_ILLEGAL': '该账号下找不到对应签名',
  'isv.TEMPLATE_MISSING_PARAMETERS': '模板变量缺少对应参数值',
  'isv.MOBILE_NUMBER_ILLEGAL': '非法手机号',
  'isv.INVALID_JSON_PARAM': 'JSON参数不合法，只接受字符串值',
  'isv.TTS_TEMPLATE_ILLEGAL': '该账号下找不到对应模板',
};

const COMMON = ['AccessKeyId', 'Action', 'Format', 'SignatureMethod', 'SignatureNonce', 'SignatureVersion', 'Timestamp', 'Version', 'Signature'];

export async function startAliyunProvider(opts: AliyunProviderOptions): Promise<AliyunProvider> {
  const nonces = new Set<string>();
  const scripted: { code: string; message?: string }[] = [];
  let lastParams: Record<string, string> | undefined;
  const action = opts.product === 'sms' ? 'SendSms' : 'SingleCallByTts';

  const server = await startProviderServer(
    (req: Received, book) => {
      if (req.method !== 'POST' && req.method !== 'GET') return aliyunAnswer(405, 'UnsupportedHTTPMethod', 'This http method is not supported.');
      const params: Record<string, string> = {};
      for (const [k, v] of req.url.searchParams) params[k] = v;
      if (req.method === 'POST') {
        if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
          return aliyunAnswer(400, 'InvalidParameter', 'The body must be application/x-www-form-urlencoded.');
        }
        for (const [k, v] of new URLSearchParams(req.raw.toString('utf8'))) params[k] = v;
      }
      for (const name of COMMON) {
        if (!params[name]) return aliyunAnswer(400, 'MissingParameter', `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);
      }
      if (params.SignatureMethod !== 'HMAC-SHA1' || params.SignatureVersion !== '1.0') {
        return aliyunAnswer(400, 'InvalidSignatureMethod', 'Specified signature method is not valid.');
      }
      if (params.AccessKeyId !== opts.accessKeyId) {
        book.refused.push('InvalidAccessKeyId.NotFound');
        return aliyunAnswer(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
      }
      const { stringToSign, signature } = expectedSignature(req.method, params, opts.accessKeySecret);
      if (params.Signature !== signature) {
        book.refused.push('SignatureDoesNotMatch');
        return aliyunAnswer(400, 'SignatureDoesNotMatch', `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`);
      }
      const ts = Date.parse(params.Timestamp!);
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(params.Timestamp!) || Math.abs(Date.now() - ts) > 15 * 60_000) {
        return aliyunAnswer(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
      }
      if (nonces.has(params.SignatureNonce!)) return aliyunAnswer(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
      nonces.add(params.SignatureNonce!);
      if (params.Action !== action || params.Version !== '2017-05-25') return aliyunAnswer(404, 'InvalidAction.NotFound', 'Specified api is not found, please check your url and method.');
      if (params.Format !== 'JSON') return aliyunAnswer(400, 'InvalidParameter', 'Format must be JSON for this client.');
      lastParams = params;

      if (book.takeFailure() === 'rate-limited') return aliyunAnswer(200, 'isv.BUSINESS_LIMIT_CONTROL', MESSAGES['isv.BUSINESS_LIMIT_CONTROL']!);
      const next = scripted.shift();
      if (next) return aliyunAnswer(next.code === 'InternalError' ? 500 : 200, next.code, next.message ?? MESSAGES[next.code] ?? next.code);

      return opts.product === 'sms' ? sendSms(params, book.accepted) : singleCall(params, book.accepted);
    },
    { serverError: () => aliyunAnswer(500, 'InternalError', 'The request processing has failed due to some unknown error, exception or failure.') },
  );

  function render(code: string, json: string | undefined): { text: string } | { error: string } {
    let vars: Record<string, unknown> = {};
    if (json !== undefined) {
      try {
        vars = JSON.parse(json) as Record<string, unknown>;
      } catch {
        return { error: 'isv.INVALID_JSON_PARAM' };
      }
      if (typeof vars !== 'object' || vars === null || Object.values(vars).some((v) => typeof v !== 'string')) return { error: 'isv.INVALID_JSON_PARAM' };
    }
    let missing = false;
    const text = opts.templates[code]!.replace(/\$\{(\w+)\}/g, (_, name: string) => {
      if (typeof vars[name] !== 'string') missing = true;
      return String(vars[name] ?? '');
    });
    return missing ? { error: 'isv.TEMPLATE_MISSING_PARAMETERS' } : { text };
  }

  const business = (code: string): Answer => aliyunAnswer(200, code, MESSAGES[code] ?? code);
  const mobile = /^(1\d{10}|[2-9]\d{7,14})$/;

  function sendSms(p: Record<string, string>, accepted: AliyunProvider['accepted']): Answer {
    for (const name of ['PhoneNumbers', 'SignName', 'TemplateCode']) if (!p[name]) return aliyunAnswer(400, 'MissingParameter', `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);
    if (!p.PhoneNumbers!.split(',').every((n) => mobile.test(n))) return business('isv.MOBILE_NUMBER_ILLEGAL');
    if (!(opts.signNames ?? []).includes(p.SignName!)) return business('isv.SMS_SIGNATURE_ILLEGAL');
    if (!(p.TemplateCode! in opts.templates)) return business('isv.SMS_TEMPLATE_ILLEGAL');
    const r = render(p.TemplateCode!, p.TemplateParam);
    if ('error' in r) return business(r.error);
    accepted.push({ to: p.PhoneNumbers!, text: `【${p.SignName}】${r.text}`, idempotencyKey: p.OutId });
    return aliyunAnswer(200, 'OK', 'OK', { BizId: `${Date.now()}^0` });
  }

  function singleCall(p: Record<string, string>, accepted: AliyunProvider['accepted']): Answer {
    for (const name of ['CalledNumber', 'TtsCode']) if (!p[name]) return aliyunAnswer(400, 'MissingParameter', `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);
    if (!mobile.test(p.CalledNumber!)) return business('isv.MOBILE_NUMBER_ILLEGAL');
    if (!(p.TtsCode! in opts.templates)) return business('isv.TTS_TEMPLATE_ILLEGAL');
    if (p.PlayTimes !== undefined && !/^[123]$/.test(p.PlayTimes)) return aliyunAnswer(400, 'InvalidParameter', 'PlayTimes must be 1 to 3.');
    const r = render(p.TtsCode!, p.TtsParam);
    if ('error' in r) return business(r.error);
    accepted.push({ to: p.CalledNumber!, text: r.text, idempotencyKey: p.OutId });
    return aliyunAnswer(200, 'OK', 'OK', { CallId: `${Date.now()}^1028137` });
  }

  Object.defineProperties(server, {
    answerNext: { value: (code: string, message?: string) => scripted.push({ code, message }) },
    lastParams: { get: () => lastParams },
  });
  return server as AliyunProvider;
}
