import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { ISSUER, parseDuration } from '../people/tokens.js';
import type { AckLinks } from './types.js';

/**
 * One-tap acknowledge links (issue 17, item 4): `{publicUrl}/a/{token}`, where the token is a JWT
 * signed HS256 with the hub's token key (`hub_keys`, hub/people/signing-key.ts) that names one
 * alert, one person and the channel it was sent through, for the purpose `ack` only, and expires
 * after `notify.ackLinkTtl`. It is no login: it acknowledges that alert as that person and nothing
 * else, and a login token is never taken for it (nor it for a login token: it has no `ver`, which
 * the login check requires, and an audience of its own).
 */
export const ACK_AUDIENCE = 'rb-ack';
export const ACK_PURPOSE = 'ack';

export interface AckClaims {
  alertId: string;
  userId: string;
  channelId: string;
  expiresAt: number;
}

/** Why a token was refused: the metric's `reason` label. */
export type AckLinkRefusal = 'forged' | 'expired' | 'wrong-purpose';

export class AckLinkError extends Error {
  constructor(
    readonly reason: AckLinkRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'AckLinkError';
  }
}

export interface AckLinkService extends AckLinks {
  /** The token's claims; throws AckLinkError (forged, expired, wrong-purpose). */
  verify(token: string): Promise<AckClaims>;
  /** Just the token, without the public URL. */
  sign(alertId: string, userId: string, channelId: string): Promise<string>;
  readonly ttlMs: number;
}

export interface AckLinksDeps {
  /** The hub's HS256 key (hub/people/signing-key.ts loadSigningKey), read once, on first use. */
  key: Uint8Array | (() => Promise<Uint8Array>);
  /** notify.publicUrl, e.g. https://rb.example.gov.cn (a trailing slash is dropped). */
  publicUrl: string;
  /** notify.ackLinkTtl, e.g. `24h`. */
  ttl: string;
  now?: () => number;
}

const MAX_TOKEN = 2048;

export function createAckLinks(deps: AckLinksDeps): AckLinkService {
  const ttlMs = parseDuration(deps.ttl);
  const base = deps.publicUrl.replace(/\/+$/, '');
  const now = deps.now ?? (() => Date.now());
  let keyOnce: Promise<Uint8Array> | undefined;
  const key = (): Promise<Uint8Array> => {
    const k = deps.key;
    if (k instanceof Uint8Array) return Promise.resolve(k);
    return (keyOnce ??= k().catch((err: unknown) => {
      keyOnce = undefined;
      throw err;
    }));
  };
  async function sign(alertId: string, userId: string, channelId: string): Promise<string> {
    const iat = Math.floor(now() / 1000);
    return new SignJWT({ pur: ACK_PURPOSE, alert: alertId, ch: channelId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(ACK_AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + Math.max(1, Math.round(ttlMs / 1000)))
      .sign(await key());
  }
  return {
    ttlMs,
    sign,
    async url(alertId, userId, channelId) {
      return `${base}/a/${await sign(alertId, userId, channelId)}`;
    },
    async verify(token) {
      if (token.length > MAX_TOKEN || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) throw new AckLinkError('forged', 'not a token of this hub');
      let payload: Record<string, unknown>;
      try {
        // The algorithm is pinned: a token saying alg "none" or RS256 is refused, not interpreted.
        ({ payload } = await jwtVerify(token, await key(), { issuer: ISSUER, algorithms: ['HS256'], currentDate: new Date(now()) }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new AckLinkError('expired', 'the link has expired');
        if (err instanceof joseErrors.JWTClaimValidationFailed) throw new AckLinkError('wrong-purpose', `the token is not valid here (${err.claim})`);
        throw new AckLinkError('forged', 'bad signature or format');
      }
      // A login token (signed with the same key) has no purpose and another audience.
      if (payload.pur !== ACK_PURPOSE || payload.aud !== ACK_AUDIENCE) throw new AckLinkError('wrong-purpose', 'not an acknowledge link');
      const { sub, alert, ch, exp } = payload;
      if (typeof sub !== 'string' || typeof alert !== 'string' || typeof ch !== 'string' || typeof exp !== 'number') throw new AckLinkError('forged', 'the token lacks its claims');
      return { alertId: alert, userId: sub, channelId: ch, expiresAt: exp * 1000 };
    },
  };
}
