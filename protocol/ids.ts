import { z } from 'zod';

/**
 * Estate, gateway and device ids travel inside MQTT topic segments, so they are restricted to
 * `[a-z0-9-]{1,64}`: no `/`, `+`, `#` (MQTT topic syntax, [MQTT-4.7.1]), no NUL ([MQTT-4.7.3-2]),
 * no upper case (ids must compare equal as strings everywhere, including InfluxDB tags).
 */
export const ID_PATTERN = /^[a-z0-9-]{1,64}$/;

export const Id = z
  .string()
  .regex(ID_PATTERN, { message: 'id must match [a-z0-9-]{1,64}' })
  .describe('Identifier: 1-64 characters of a-z, 0-9 and "-"');

export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** Crockford base32 ULID: 26 characters, first one 0-7 (48-bit time). */
export const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
export const Ulid = z.string().regex(ULID_PATTERN, { message: 'id must be a ULID' });
