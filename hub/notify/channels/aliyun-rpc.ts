import type { ChannelError } from '../channel.js';
import { fail, notJson, post, providerText, untilChinaMidnight } from './cloud-common.js';
import { aliyunSignedParams, type AliyunCredentials } from './sign-aliyun.js';

/**
 * One Alibaba Cloud RPC call (Dysmsapi SendSms, Dyvmsapi SingleCallByTts): every parameter, common
 * and own, in an application/x-www-form-urlencoded POST body (so the recipient's number is not in a
 * URL that proxies log), signed with the RPC signature over "POST". Resolves with the JSON answer
 * when its `Code` is "OK"; throws the ChannelError its code maps to otherwise.
 */
export interface AliyunCall {
  endpoint: string;
  action: string;
  version: string;
  regionId: string;
  params: Record<string, string>;
  cred: AliyunCredentials;
  signal: AbortSignal;
  now: number;
  /** For messages: "Aliyun SMS" / "Aliyun voice". */
  what: string;
}

export async function aliyunRpc(call: AliyunCall): Promise<Record<string, unknown>> {
  const signed = aliyunSignedParams('POST', { Action: call.action, Version: call.version, RegionId: call.regionId }, call.params, call.cred, call.now);
  const answer = await post(
    call.endpoint,
    { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', accept: 'application/json' }, body: new URLSearchParams(signed).toString() },
    call.signal,
    call.what,
  );
  const body = answer.json as { Code?: unknown; Message?: unknown } | undefined;
  if (!body || typeof body !== 'object' || typeof body.Code !== 'string') {
    throw notJson(call.what, answer);
  }
  if (body.Code === 'OK' && answer.status < 300) return body as Record<string, unknown>;
  throw aliyunError(call.what, body.Code, body.Message, answer.status, call.now, [call.cred.accessKeySecret]);
}

/** Codes documented as refusing the credentials or the signature. */
const AUTH = new Set([
  'InvalidAccessKeyId.NotFound',
  'InvalidAccessKeyId.Inactive',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidTimeStamp.Expired',
  'Forbidden.RAM',
  'Forbidden.AccessKeyDisabled',
  'isp.RAM_PERMISSION_DENY',
  'isv.ACCOUNT_NOT_EXISTS',
]);

/** Codes about the sign name or the template (not approved, unknown, a variable missing or illegal). */
const TEMPLATE = new Set([
  'isv.SMS_TEMPLATE_ILLEGAL',
  'isv.SMS_SIGNATURE_ILLEGAL',
  'isv.SMS_SIGN_ILLEGAL',
  'isv.SIGN_NAME_ILLEGAL',
  'isv.TEMPLATE_MISSING_PARAMETERS',
  'isv.TEMPLATE_PARAMS_ILLEGAL',
  'isv.INVALID_JSON_PARAM',
  'isv.PARAM_LENGTH_LIMIT',
  'isv.SMS_SIGNATURE_SCENE_ILLEGAL',
  'isv.TTS_TEMPLATE_ILLEGAL',
  'isv.VOICE_FILE_ILLEGAL',
]);

/** Rate limits: per number (minute, hour, day, as the message says) or per account. */
const LIMITS = new Set(['isv.BUSINESS_LIMIT_CONTROL', 'isv.DAY_LIMIT_CONTROL', 'Throttling', 'Throttling.User', 'Throttling.Api', 'isv.OUT_OF_QPS']);

/** Worth another try as is (a fresh nonce, a provider hiccup). */
const TRANSIENT = new Set(['SignatureNonceUsed', 'InternalError', 'ServiceUnavailable', 'isp.SYSTEM_ERROR', 'isp.GATEWAY_ERROR', 'isv.SYSTEM_BUSY']);

export function aliyunError(what: string, code: string, message: unknown, status: number, now: number, secrets: readonly string[]): ChannelError {
  const text = `${what}: ${providerText(code, message, secrets)}`;
  if (LIMITS.has(code)) return fail('RB_ERR_NOTIFY_RATE_LIMITED', text, limitWait(code, message, now));
  if (AUTH.has(code)) return fail('RB_ERR_NOTIFY_AUTH', text);
  if (TEMPLATE.has(code) || /TEMPLATE|SIGN_NAME|SIGNATURE_ILLEGAL/.test(code)) return fail('RB_ERR_NOTIFY_TEMPLATE', text);
  if (TRANSIENT.has(code) || code.startsWith('isp.') || status >= 500) return fail('RB_ERR_NOTIFY_UNAVAILABLE', text);
  // isv.MOBILE_NUMBER_ILLEGAL, isv.MOBILE_COUNT_OVER_LIMIT, isv.BLACK_KEY_CONTROL_LIMIT,
  // isv.AMOUNT_NOT_ENOUGH, isv.OUT_OF_SERVICE … and anything unknown: this message will not go.
  return fail('RB_ERR_NOTIFY_REJECTED', text);
}

/** "触发分钟级流控Permits:1" / "触发小时级流控" / "触发天级流控": wait for that window to pass. */
function limitWait(code: string, message: unknown, now: number): number {
  const m = typeof message === 'string' ? message : '';
  if (code === 'isv.DAY_LIMIT_CONTROL' || /天级|day/i.test(m)) return untilChinaMidnight(now);
  if (/小时|hour/i.test(m)) return 3_600_000;
  if (/分钟|minute/i.test(m)) return 60_000;
  return code.startsWith('Throttling') ? 1_000 : 60_000;
}
