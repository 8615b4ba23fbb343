import { z } from 'zod';
import { devicePassword, deviceUsername } from '../common-options.js';

/** The `options` block of an `onvif` device in the gateway config. */
export const OnvifOptions = z
  .object({
    address: z
      .url({ protocol: /^https?$/ })
      .max(256)
      .refine((u) => !URL.canParse(u) || (!new URL(u).username && !new URL(u).password), 'must not carry credentials')
      .describe('URL of the device service, e.g. http://192.168.1.64/onvif/device_service'),
    username: deviceUsername().describe('ONVIF user (WS-UsernameToken PasswordDigest)'),
    password: devicePassword().describe('Password of that user; never logged'),
    pollMs: z.number().int().min(50).max(600_000).default(10_000).describe('Health poll period (GetSystemDateAndTime), ms'),
    offlineAfterFails: z.number().int().min(1).max(100).default(3).describe('Consecutive failed polls before device.offline'),
    onlineAfterOks: z.number().int().min(1).max(100).default(2).describe('Consecutive good polls before device.online'),
    pullTimeoutS: z.number().int().min(1).max(60).default(10).describe('PullMessages Timeout: how long the device may hold a pull, s'),
    subscriptionS: z.number().int().min(10).max(3_600).default(60).describe('Pull-point subscription lifetime asked for and renewed, s'),
    requestTimeoutMs: z.number().int().min(100).max(60_000).default(5_000).describe('Total time for one SOAP call (pulls add pullTimeoutS)'),
    maxResponseBytes: z.number().int().min(4_096).max(4_194_304).default(65_536).describe('Largest SOAP answer accepted, bytes (the parser costs ~0.2 µs a character on the event loop)'),
    snapshotMaxBytes: z.number().int().min(1_024).max(16_777_216).default(4_194_304).describe('Largest snapshot accepted, bytes'),
  })
  .strict();

export type OnvifOptions = z.infer<typeof OnvifOptions>;
