import { timingSafeEqual } from 'node:crypto';
import { attr, passwordDigest, PASSWORD_DIGEST_TYPE, path, text, type Xml } from './soap.js';

/**
 * The device's check of a WS-Security UsernameToken (OASIS UsernameToken Profile 1.0 §3.1 digest,
 * §4 freshness and replay; ONVIF Core Spec §5.12 user token profile): PasswordDigest only (no clear
 * text), `Created` within `windowMs` of the *device* clock, each nonce accepted once while its
 * token could still be fresh.
 */
export type AuthRefusal = 'no-token' | 'unknown-user' | 'not-digest' | 'bad-created' | 'stale' | 'replay' | 'bad-digest';

export interface UsernameTokenVerifier {
  verify(doc: Xml, deviceNowMs: number): AuthRefusal | undefined;
}

const CREATED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const MAX_NONCES = 10_000;

export function createVerifier(o: { username: string; password: string; windowMs: number }): UsernameTokenVerifier {
  /** nonce (base64) → device time after which it can no longer be fresh, so may be forgotten. */
  const seen = new Map<string, number>();
  const prune = (now: number): void => {
    for (const [nonce, until] of seen) if (until < now) seen.delete(nonce);
    // A flood of fresh nonces: forget the oldest (Map keeps insertion order) so memory stays bounded.
    while (seen.size >= MAX_NONCES) seen.delete(seen.keys().next().value as string);
  };
  return {
    verify(doc, now) {
      const token = path(doc, 'Envelope', 'Header', 'Security', 'UsernameToken');
      if (token === undefined) return 'no-token';
      const username = text(path(token, 'Username'));
      const passwordNode = path(token, 'Password');
      const password = text(passwordNode);
      const nonce = text(path(token, 'Nonce'));
      const created = text(path(token, 'Created'));
      if (username !== o.username) return 'unknown-user';
      if (attr(passwordNode, 'Type') !== PASSWORD_DIGEST_TYPE || !password || !nonce) return 'not-digest';
      if (!created || !CREATED.test(created) || Number.isNaN(Date.parse(created))) return 'bad-created';
      if (Math.abs(Date.parse(created) - now) > o.windowMs) return 'stale';
      const expected = Buffer.from(passwordDigest(Buffer.from(nonce, 'base64'), created, o.password));
      const given = Buffer.from(password);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad-digest';
      prune(now);
      if (seen.has(nonce)) return 'replay';
      seen.set(nonce, now + 2 * o.windowMs);
      return undefined;
    },
  };
}
