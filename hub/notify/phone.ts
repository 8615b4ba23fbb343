import { z } from 'zod';

/**
 * Phone numbers of contact points: what an admin or a resident types is never trusted. Accepted: a
 * mainland mobile number (11 digits, 1[3-9]…, with or without +86 / 0086 / 86) or any E.164 number
 * (+ and 7–15 digits, or 00 instead of +); spaces, dashes, dots, brackets and full-width digits are
 * read. Stored normalised as E.164 (`+8613812345678`), so one number is one string however typed.
 */
const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;
const E164_DIGITS = /^[1-9]\d{6,14}$/;

/** E.164 of a typed number, or undefined when it is not a number this hub texts. */
export function normalisePhone(input: string): string | undefined {
  if (input.length > 40) return undefined;
  // Full-width digits and ＋ (a Chinese keyboard) read as ASCII; spaces, dashes, dots and brackets go.
  const compact = input.normalize('NFKC').replace(/[\s().-]/g, '');
  if (!/^\+?\d+$/.test(compact)) return undefined;
  const plus = compact.startsWith('+');
  let digits = plus ? compact.slice(1) : compact;
  if (!plus) {
    if (digits.startsWith('00')) digits = digits.slice(2);
    else if (MAINLAND_MOBILE.test(digits)) return `+86${digits}`;
    else if (!(digits.startsWith('86') && MAINLAND_MOBILE.test(digits.slice(2)))) return undefined;
  }
  if (!E164_DIGITS.test(digits)) return undefined;
  // A Chinese number must be a mobile: a landline cannot take an SMS.
  if (digits.startsWith('86') && !MAINLAND_MOBILE.test(digits.slice(2))) return undefined;
  return `+${digits}`;
}

/**
 * The key two spellings of one number share (digits of E.164): "13812345678", "+86 138 1234 5678",
 * "008613812345678" and "8613812345678" all give "8613812345678". Undefined for anything else.
 */
export function phoneKey(input: string): string | undefined {
  return normalisePhone(input)?.slice(1);
}

export const Phone = z
  .string()
  .max(32)
  .transform((s, ctx) => {
    const e164 = normalisePhone(s);
    if (!e164) {
      ctx.addIssue({ code: 'custom', message: 'a phone number is a mainland mobile number (11 digits, 1[3-9]…) or E.164 (+ country code and number)' });
      return z.NEVER;
    }
    return e164;
  });

/** A WeCom 企业微信 userid: 1–64 letters, digits, `_ - . @` (as WeCom's admin console allows). */
export const WecomUserId = z.string().trim().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'a WeCom user id is 1-64 letters, digits or _ - . @');

/**
 * The address with its middle masked, for people who may not see others' numbers:
 * `+8613812345678` → `138****5678`; another E.164 number keeps its country code's first digits and
 * last four; a WeCom id keeps its first two characters and last one.
 */
export function maskAddress(kind: 'phone' | 'wecom-user', address: string): string {
  if (kind === 'phone') {
    if (address.startsWith('+86') && address.length === 14) return `${address.slice(3, 6)}****${address.slice(10)}`;
    return `${address.slice(0, 3)}${'*'.repeat(Math.max(2, address.length - 7))}${address.slice(-4)}`;
  }
  if (address.length <= 3) return '*'.repeat(address.length);
  return `${address.slice(0, 2)}${'*'.repeat(address.length - 3)}${address.slice(-1)}`;
}

/** For logs: a number never appears whole (`138****5678`, or `[not a number]`). */
export function maskPhoneForLog(input: string): string {
  const e164 = normalisePhone(input);
  return e164 ? maskAddress('phone', e164) : '[not a number]';
}
