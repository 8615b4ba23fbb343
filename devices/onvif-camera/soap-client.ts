import { deviceRequest, DeviceRequestError } from '../http-digest.js';
import { envelope, isXml, parseXml, path, readFault, securityHeader, SoapParseError, type Xml } from './soap.js';

/**
 * One ONVIF SOAP call from the gateway: a SOAP 1.2 POST through `deviceRequest` (total deadline, byte
 * cap, HTTP Digest if the device asks for it — ONVIF Core Spec §5.12 allows both WS-UsernameToken and
 * HTTP Digest), with a WS-Security UsernameToken whose `Created` is our clock plus the device's
 * clock offset (Core Spec, GetSystemDateAndTime: clients sync to the device before authenticating).
 */
export type OnvifErrorKind = 'auth' | 'fault' | 'http' | 'bad-xml' | 'timeout' | 'network' | 'too-large' | 'aborted';

export class OnvifError extends Error {
  override name = 'OnvifError';
  constructor(
    readonly kind: OnvifErrorKind,
    message: string,
    /** SOAP fault subcode, e.g. "ter:NotAuthorized", when the device sent one. */
    readonly subcode?: string,
  ) {
    super(message);
  }
}

export interface SoapCallOptions {
  url: string;
  /** Namespace + operation: the SOAP 1.2 `action` media-type parameter. */
  action: string;
  /** The one Body element, with its xmlns. */
  body: string;
  /** Header elements besides security (WS-Addressing `To` for pull points). */
  header?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** Device clock minus ours, ms. */
  clockOffsetMs: number;
  deadlineMs: number;
  maxResponseBytes: number;
  signal?: AbortSignal | undefined;
}

/** The content of the first element inside `s:Body` of the answer (the `...Response`). Throws OnvifError. */
export async function soapCall(o: SoapCallOptions): Promise<Xml> {
  const security = o.username !== undefined ? securityHeader(o.username, o.password ?? '', Date.now() + o.clockOffsetMs) : '';
  const op = o.action.slice(o.action.lastIndexOf('/') + 1);
  let res;
  try {
    res = await deviceRequest({
      method: 'POST',
      url: o.url,
      body: envelope(o.body, security + (o.header ?? '')),
      contentType: `application/soap+xml; charset=utf-8; action="${o.action}"`,
      username: o.username,
      password: o.password,
      deadlineMs: o.deadlineMs,
      maxResponseBytes: o.maxResponseBytes,
      signal: o.signal,
    });
  } catch (err) {
    if (err instanceof DeviceRequestError) {
      const kind = err.kind === 'bad-request' || err.kind === 'bad-challenge' ? 'http' : err.kind;
      throw new OnvifError(kind, `${op}: ${err.message}`);
    }
    throw err;
  }
  const type = String(res.headers['content-type'] ?? '');
  let doc: Xml | undefined;
  if (/xml/i.test(type) || res.body.subarray(0, 64).toString('latin1').trimStart().startsWith('<')) {
    try {
      doc = parseXml(res.body.toString('utf8'));
    } catch (err) {
      if (!(err instanceof SoapParseError)) throw err;
      if (res.status < 300) throw new OnvifError('bad-xml', `${op}: ${err.message}`);
    }
  }
  const fault = doc && readFault(doc);
  if (fault) {
    const sub = fault.subcode ?? fault.code ?? 'unknown';
    // ONVIF Core Spec §5.12 / error handling: a refused token is Sender + ter:NotAuthorized (HTTP 400/401).
    if (/NotAuthorized|FailedAuthentication|InvalidSecurity/i.test(sub) || res.status === 401) {
      throw new OnvifError('auth', `${op}: the device refused the credentials (${sub}); check username, password and clock`, sub);
    }
    throw new OnvifError('fault', `${op}: SOAP fault ${sub}${fault.reason ? `: ${fault.reason.slice(0, 200)}` : ''}`, sub);
  }
  if (res.status === 401 || res.status === 403) {
    throw new OnvifError('auth', `${op}: the device refused the credentials (HTTP ${res.status})`);
  }
  if (res.status >= 300) throw new OnvifError('http', `${op}: HTTP ${res.status}`);
  const body = doc && path(doc, 'Envelope', 'Body');
  const first = isXml(body) ? Object.entries(body).find(([k]) => !k.startsWith('@') && k !== '#text') : undefined;
  if (!first || (!isXml(first[1]) && first[1] !== '')) throw new OnvifError('bad-xml', `${op}: no SOAP body in the answer`);
  return isXml(first[1]) ? first[1] : {};
}
