import { Command, Option } from 'commander';
import { createAccessGateSimulator, type RunResult } from '../devices/access-gate/simulator.js';
import { isId } from '../protocol/index.js';
import { intOption, numberOption, logLevelOption } from './util.js';

interface SimulateOptions {
  gatewayUrl: string;
  devices: string;
  rate: number;
  count?: number;
  duration?: number;
  forcedEvery?: number;
  format: 'json' | 'multipart';
}

type Summary = { sent: number; failed: number; byType: Record<string, number> };

function merge(into: Summary, r: RunResult): void {
  into.sent += r.sent;
  into.failed += r.failed;
  for (const [type, n] of Object.entries(r.byType)) into.byType[type] = (into.byType[type] ?? 0) + (n ?? 0);
}

/** Progress lines go to stderr; the JSON summary of what was sent goes to stdout at the end. */
export async function runSimulation(opts: SimulateOptions, signal: AbortSignal): Promise<Summary> {
  const devices = opts.devices.split(',').map((d) => d.trim()).filter(Boolean);
  const bad = devices.filter((d) => !isId(d));
  if (devices.length === 0 || bad.length > 0) throw new Error(`--devices: ids must match [a-z0-9-]{1,64}: ${bad.join(', ') || '(none given)'}`);
  const base = opts.gatewayUrl.replace(/\/+$/, '');
  const sims = devices.map((id, i) =>
    createAccessGateSimulator({
      target: `${base}/isapi/${id}`,
      deviceName: id,
      ipAddress: `192.168.1.${10 + i}`,
      format: opts.format,
    }),
  );
  const total: Summary = { sent: 0, failed: 0, byType: {} };
  const perDeviceRate = opts.rate / sims.length;
  const perDeviceCount = opts.count !== undefined ? Math.ceil(opts.count / sims.length) : undefined;
  const deadline = opts.duration !== undefined ? Date.now() + opts.duration * 1000 : Infinity;
  const done = sims.map(() => 0);
  const startedAt = Date.now();
  process.stderr.write(`simulate: ${sims.length} access gate(s) -> ${base}/isapi/{device}, ${opts.rate} events/s\n`);
  // Run in chunks of 5 s so progress can be printed between them.
  while (!signal.aborted && Date.now() < deadline && (perDeviceCount === undefined || done.some((n) => n < perDeviceCount))) {
    const chunkMs = Math.min(5_000, deadline - Date.now());
    const results = await Promise.all(
      sims.map((sim, i) => {
        const left = perDeviceCount === undefined ? undefined : perDeviceCount - done[i]!;
        if (left !== undefined && left <= 0) return Promise.resolve<RunResult>({ sent: 0, failed: 0, byType: {}, byKind: {} });
        return sim.run({
          ratePerSecond: perDeviceRate,
          durationMs: chunkMs,
          ...(left !== undefined ? { count: left } : {}),
          ...(opts.forcedEvery !== undefined ? { forcedEvery: opts.forcedEvery } : {}),
          signal,
        });
      }),
    );
    results.forEach((r, i) => {
      done[i] = done[i]! + Object.values(r.byKind).reduce((a, b) => a + (b ?? 0), 0);
      merge(total, r);
    });
    const secs = Math.round((Date.now() - startedAt) / 1000);
    process.stderr.write(`simulate: ${secs}s, ${total.sent} pushes sent, ${total.failed} failed\n`);
  }
  for (const sim of sims) sim.stop();
  return total;
}

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('simulate an estate: access gates pushing Hikvision ISAPI events to a gateway')
    .requiredOption('--gateway-url <url>', "the gateway's device push listener, e.g. http://127.0.0.1:8091")
    .option('--devices <ids>', 'comma-separated access-gate device ids (as in the gateway config)', 'gate-1')
    .option('--rate <n>', 'events (device pushes) per second over all devices', numberOption('--rate'), 1)
    .option('--count <n>', 'stop after this many events (split over the devices)', intOption('--count'))
    .option('--duration <seconds>', 'stop after this many seconds', numberOption('--duration'))
    .addOption(logLevelOption())
    .option('--forced-every <n>', 'make every n-th scenario a forced door', intOption('--forced-every'))
    .addOption(new Option('--format <format>', 'push body format').choices(['multipart', 'json']).default('multipart'))
    .action(async (opts: SimulateOptions) => {
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      process.once('SIGTERM', () => abort.abort());
      try {
        const summary = await runSimulation(opts, abort.signal);
        process.stdout.write(`${JSON.stringify(summary)}\n`);
      } catch (err) {
        process.stderr.write(`red-butler simulate: ${(err as Error).message}\n`);
        process.exitCode = 2;
      }
    });
}
