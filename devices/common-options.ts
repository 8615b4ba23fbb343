import { z } from 'zod';

/**
 * Option fields that several drivers share, as zod fragments: one definition of what a valid value
 * is. Each driver keeps its own wording (`.describe()`, defaults), since docs/devices.md is
 * generated from those descriptions and a camera is not a door controller.
 */

/** Push path of a device in "HTTP listening" mode; `example` shows up in the error message. */
export const pushPath = (example: string) =>
  z.string().regex(/^\/[A-Za-z0-9._~/-]{0,127}$/, { message: `must be a URL path such as ${example}` });

/** Source addresses a push listener accepts for this device. */
export const allowFrom = () => z.array(z.union([z.ipv4(), z.ipv6()])).min(1);

/** A positive whole number of milliseconds with a default (offline thresholds, command timeouts). */
export const positiveMs = (def: number, max?: number) => {
  const ms = z.number().int().positive();
  return (max === undefined ? ms : ms.max(max)).default(def);
};

/** Base URL of a device for commands: http(s), no credentials, query or fragment. */
export const deviceBaseUrl = (example: string) =>
  z
    .url({ protocol: /^https?$/ })
    .max(256)
    .refine((u) => {
      if (!URL.canParse(u)) return true; // already reported by z.url()
      const url = new URL(u);
      return !url.username && !url.password && !url.search && !url.hash;
    }, `must be a base URL such as ${example}, without credentials, query or fragment`);

/** How often an ISAPI device's login is checked (GET /ISAPI/System/deviceInfo); 0 = never. */
export const healthPollMs = () =>
  z
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(30_000)
    .describe('How often the gateway checks that the device accepts its account (GET /ISAPI/System/deviceInfo with Digest; a refusal shows as auth-failed), ms; needs address and username; 0 = never');

/** A device account name: what HTTP Digest and WS-UsernameToken can carry. */
export const deviceUsername = () => z.string().regex(/^[\x20-\x7e]{1,64}$/, { message: 'must be 1-64 printable ASCII characters' });

export const devicePassword = () => z.string().max(128);

/** For an object with optional `username` / `password`: a password alone is a config mistake. */
export const passwordNeedsUsername: [(o: Account) => boolean, { message: string; path: string[] }] = [
  (o) => o.password === undefined || o.username !== undefined,
  { message: 'password given without username', path: ['username'] },
];

interface Account {
  username?: string | undefined;
  password?: string | undefined;
}
