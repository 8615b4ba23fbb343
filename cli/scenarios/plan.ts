import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isId } from '../../protocol/index.js';

/**
 * Which devices to simulate, estate by estate: each estate's gateway push listener (where access
 * gates and ANPR cameras post, and ZKTeco controllers poll), and the device ids as the gateway
 * config names them. ONVIF cameras are the other way round: the gateway polls them, so the
 * simulator serves each camera on the port its gateway config points at.
 */
const Id = z.string().refine(isId, 'must match [a-z0-9-]{1,64}');
const Port = z.number().int().min(1).max(65_535);
const Camera = z
  .object({
    id: Id,
    port: Port.describe('port the simulated camera listens on (gateway: http://host:port/onvif/device_service)'),
    host: z.string().default('127.0.0.1'),
    username: z.string().min(1).max(64).default('admin'),
    password: z.string().max(128).default('admin12345'),
    rtsp: z.boolean().default(false).describe("serve the camera's live stream too (GStreamer RTSP server, rtsp-sim.py; GetStreamUri points at it)"),
    rtspPort: Port.optional().describe('port of that RTSP server; absent: a free one'),
  })
  .strict();

/**
 * An access gate or barrier camera: its id alone (it only pushes), or with the port its own ISAPI
 * server listens on behind Digest, as the real device does (door / barrier commands, login checks;
 * gateway: options.address http://host:port, username, password).
 */
const PushDevice = z
  .union([
    Id,
    z
      .object({
        id: Id,
        port: Port.optional().describe('port of the device\'s own ISAPI server (remote open, login checks); absent: none'),
        host: z.string().default('127.0.0.1'),
        username: z.string().min(1).max(64).default('admin'),
        password: z.string().max(128).default('admin12345'),
      })
      .strict(),
  ])
  .transform((d): PushDevicePlan => (typeof d === 'string' ? pushDevice(d) : d));

export interface PushDevicePlan {
  id: string;
  port?: number | undefined;
  host: string;
  username: string;
  password: string;
}
const pushDevice = (id: string): PushDevicePlan => ({ id, host: '127.0.0.1', username: 'admin', password: 'admin12345' });

const Estate = z
  .object({
    estate: Id,
    gatewayUrl: z.url({ protocol: /^https?$/ }),
    accessGates: z.array(PushDevice).default([]).describe('hikvision-isapi devices (they post to /isapi/<id>)'),
    zkteco: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,32}$/)).default([]).describe('zkteco-adms serial numbers'),
    barriers: z.array(PushDevice).default([]).describe('hikvision-anpr devices (they post to /anpr/<id>)'),
    cameras: z.array(Camera).default([]),
  })
  .strict();

export const Plan = z.object({ estates: z.array(Estate).min(1).max(1_000) }).strict();
export type Plan = z.infer<typeof Plan>;
export type EstatePlan = Plan['estates'][number];

export interface PlanFlags {
  plan?: string;
  gatewayUrl?: string;
  estates?: number;
  devices: string;
  zkteco?: string;
  barriers?: string;
}

const list = (s: string | undefined): string[] => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

function fail(flag: string, message: string): never {
  throw new Error(`${flag}: ${message}`);
}

/** Zod issues as "estates.0.gatewayUrl: Invalid URL" lines. */
function describe(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
}

/** The plan from `--plan FILE` (JSON or YAML), or from `--gateway-url` and the device flags. */
export function resolvePlan(f: PlanFlags): Plan {
  if (f.plan !== undefined) {
    if (f.gatewayUrl !== undefined) fail('--plan', 'give either --plan or --gateway-url, not both');
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(f.plan, 'utf8')); // YAML is a superset of JSON
    } catch (err) {
      fail('--plan', `cannot read ${f.plan}: ${(err as Error).message}`);
    }
    const parsed = Plan.safeParse(raw);
    if (!parsed.success) fail('--plan', describe(parsed.error));
    check(parsed.data, f.estates);
    return parsed.data;
  }
  if (f.gatewayUrl === undefined) fail('--gateway-url', 'required (or give --plan FILE)');
  const urls = list(f.gatewayUrl);
  if (urls.length === 0) fail('--gateway-url', 'no URL given');
  const ids = { accessGates: list(f.devices), barriers: list(f.barriers) };
  for (const [flag, xs] of [['--devices', ids.accessGates], ['--barriers', ids.barriers]] as const) {
    const bad = xs.filter((d) => !isId(d));
    if (bad.length > 0) fail(flag, `ids must match [a-z0-9-]{1,64}: ${bad.join(', ')}`);
  }
  const devices = {
    accessGates: ids.accessGates.map(pushDevice),
    zkteco: list(f.zkteco),
    barriers: ids.barriers.map(pushDevice),
    cameras: [],
  };
  const badSn = devices.zkteco.filter((s) => !/^[A-Za-z0-9_-]{1,32}$/.test(s));
  if (badSn.length > 0) fail('--zkteco', `serial numbers are 1-32 letters, digits, _ or -: ${badSn.join(', ')}`);
  const estates = urls.map((u, i) => {
    // "north-court=http://..." names the estate; otherwise estate-1, estate-2, ...
    const m = /^([a-z0-9-]{1,64})=(.+)$/.exec(u);
    const gatewayUrl = m ? m[2]! : u;
    if (!URL.canParse(gatewayUrl) || !/^https?:$/.test(new URL(gatewayUrl).protocol)) fail('--gateway-url', `not an http(s) URL: "${gatewayUrl}"`);
    return { estate: m ? m[1]! : `estate-${i + 1}`, gatewayUrl, ...devices };
  });
  const plan = { estates };
  check(plan, f.estates);
  return plan;
}

function check(plan: Plan, estates: number | undefined): void {
  if (estates !== undefined && estates !== plan.estates.length) {
    fail('--estates', `${estates} estates asked for, but ${plan.estates.length} gateway URL(s) given: one per estate`);
  }
  const names = plan.estates.map((e) => e.estate);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) fail(plan.estates.length > 1 ? '--gateway-url' : '--plan', `estate "${dup}" appears twice`);
  const total = plan.estates.reduce((a, e) => a + e.accessGates.length + e.zkteco.length + e.barriers.length + e.cameras.length, 0);
  if (total === 0) fail('--devices', 'no devices to simulate');
}
