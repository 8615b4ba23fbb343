import { Command, InvalidArgumentError, Option } from 'commander';
import { logLevelOption } from './util.js';
import { registerSimulateCameraCommand } from './simulate-camera.js';
import { resolvePlan } from './scenarios/plan.js';
import { runScenario, type Summary } from './scenarios/runner.js';
import { SCENARIOS, type ScenarioName } from './scenarios/scenarios.js';

export type { Summary };

interface SimulateOptions {
  gatewayUrl?: string;
  plan?: string;
  estates?: number;
  scenario: ScenarioName;
  devices: string;
  zkteco?: string;
  barriers?: string;
  events?: number;
  count?: number;
  rate: number;
  duration?: number;
  forcedEvery?: number;
  format: 'json' | 'multipart';
  seed?: number;
  readyTimeout: number;
  retryFor: number;
  incidentPeriod: number;
  progressEvery: number;
}

/** Option parsers whose errors commander prints as "option '--x <n>' argument 'y' is invalid. ...". */
const int = (min: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer >= ${min}`);
  return n;
};
const nonNegative = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0');
  return n;
};
const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
};

/** A small seeded PRNG (mulberry32), so a run can be repeated with --seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Progress lines go to stderr; the JSON summary of what the gateways took goes to stdout at the end. */
export async function runSimulation(opts: SimulateOptions, signal: AbortSignal): Promise<Summary> {
  if (opts.events !== undefined && opts.count !== undefined && opts.events !== opts.count) {
    throw new Error('--count: same as --events; give one of them');
  }
  const plan = resolvePlan(opts);
  return runScenario(plan, {
    scenario: opts.scenario,
    ...(opts.events ?? opts.count) !== undefined && { events: (opts.events ?? opts.count)! },
    rate: opts.rate,
    ...(opts.duration !== undefined && { durationS: opts.duration }),
    ...(opts.forcedEvery !== undefined && { forcedEvery: opts.forcedEvery }),
    format: opts.format,
    readyTimeoutMs: opts.readyTimeout * 1000,
    retryForMs: opts.retryFor * 1000,
    incidentPeriodMs: opts.incidentPeriod * 1000,
    progressEveryMs: opts.progressEvery * 1000,
    random: opts.seed !== undefined ? seeded(opts.seed) : Math.random,
    signal,
    progress: (line) => void process.stderr.write(`${line}\n`),
  });
}

const HELP = `
Scenarios (what each kind of device does; anomalies included):
  normal-day       residents pass by card/face, doors open and close, cars in/out by the allow list, rare denials
  rush-hour        cars dominate, visitors at the barrier, doors held open, more denials
  night-intrusion  forced and held doors, tamper, unknown cards, blocklisted plates, camera motion and tamper
  camera-failure   normal traffic while cameras lose signal and get tampered with (needs cameras in --plan)
  demo             calm traffic (no alarms of its own), and in every estate one round of incidents per
                   --incident-period: a forced door at once, then a blocklisted plate, a held door, camera
                   tamper, signal loss and motion, controller tamper, five denied cards, a barrier fault, the
                   camera away for a fifth of the period, and a visitor who stays the whole period

Devices per estate: --devices (hikvision-isapi ids, post to /isapi/<id>), --barriers (hikvision-anpr ids,
post to /anpr/<id>) and --zkteco (zkteco-adms serial numbers, poll /iclock) apply to every gateway URL.
A --plan file (JSON or YAML) lists them per estate, and the ONVIF cameras the simulator serves:
  estates:
    - estate: north-court
      gatewayUrl: http://10.0.1.2:8091
      accessGates: [gate-1]
      zkteco: [ZK0001]
      barriers: [barrier-1]
      cameras: [{ id: cam-1, port: 18001, username: admin, password: admin12345, rtsp: true }]
A camera with rtsp: true also streams live video (GStreamer's RTSP server through /usr/bin/python3,
on rtspPort or a free port; GetStreamUri gives its /main and /sub); without GStreamer it warns once
and runs without video.
An access gate or barrier may be given as { id, port, username, password }: it then also serves
ISAPI door / barrier control behind Digest on that port, as the real device does (the gateway's
options.address, username and password).

Delivery: like the real controllers, access gates and barriers post an event again (same serial
number, time and body) until the gateway takes it, for up to --retry-for seconds: a gateway that
restarts during a run loses nothing. Cameras do not: a notification raised while the gateway has no
pull point open is gone, as on a real camera.

Output: progress lines on stderr; at the end one JSON line on stdout:
  { scenario, sent, failed, reposts, elapsedMs, byType, byEstate: { <estate>: { sent, failed, reposts, byType } } }
byType counts the events the gateways took, by the event type their drivers make of them; reposts
counts the posts repeated because a gateway did not take an event at first.

Example:
  red-butler simulate --estates 3 --gateway-url a=http://127.0.0.1:8091,b=http://127.0.0.1:8092,c=http://127.0.0.1:8093 \\
    --barriers barrier-1 --scenario night-intrusion --events 300 --rate 200
`;

export function registerSimulateCommand(program: Command): void {
  const simulate = program.command('simulate');
  simulate
    .description('simulate estates: access gates, barriers and cameras sending realistic traffic to real gateways')
    .option('--gateway-url <urls>', "each estate's gateway push listener, comma-separated, optionally named: [estate=]http://host:port")
    .option('--plan <file>', 'JSON/YAML plan of estates, gateway URLs and devices (instead of --gateway-url)')
    .option('--estates <n>', 'number of estates (must match the gateway URLs / plan)', int(1))
    .addOption(new Option('--scenario <name>', 'traffic mix and anomalies').choices(SCENARIOS).default('normal-day'))
    .option('--devices <ids>', 'hikvision-isapi access-gate ids per estate, comma-separated', 'gate-1')
    .option('--barriers <ids>', 'hikvision-anpr barrier camera ids per estate, comma-separated')
    .option('--zkteco <serials>', 'zkteco-adms controller serial numbers per estate, comma-separated')
    .option('--events <n>', 'stop after this many device events in all (split over the devices)', int(0))
    .option('--count <n>', 'same as --events', int(0))
    .option('--rate <n>', 'device events per second over all devices', positive, 1)
    .option('--duration <seconds>', 'stop after this many seconds', positive)
    .option('--forced-every <n>', 'access gates: make every n-th visit a forced door', int(1))
    .option('--incident-period <seconds>', 'demo scenario: one round of incidents (every kind of alert once) per this many seconds', positive, 600)
    .addOption(new Option('--format <format>', 'ISAPI access-gate push body format').choices(['multipart', 'json']).default('multipart'))
    .option('--seed <n>', 'seed the random traffic, to repeat a run', int(0))
    .option('--ready-timeout <seconds>', 'how long cameras get for their gateway to subscribe', positive, 30)
    .option('--retry-for <seconds>', 're-post an event the gateway did not take (same serial number and time) for up to this long; 0: never', nonNegative, 600)
    .option('--progress-every <seconds>', 'seconds between progress lines on stderr', positive, 2)
    .addOption(logLevelOption())
    .addHelpText('after', HELP)
    .action(async (opts: SimulateOptions) => {
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      process.once('SIGTERM', () => abort.abort());
      try {
        const summary = await runSimulation(opts, abort.signal);
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        process.exitCode = summary.failed > 0 ? 1 : 0;
      } catch (err) {
        process.stderr.write(`red-butler simulate: ${(err as Error).message}\n`);
        process.exitCode = 2;
      }
    });
  registerSimulateCameraCommand(simulate);
}
