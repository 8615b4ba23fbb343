import { Command } from 'commander';
import { createHub } from '../hub/main.js';
import { resolveHubConfig } from '../hub/config.js';
import { RbError } from '../hub/errors.js';
import { openRegistry, type Registry } from '../hub/registry.js';
import { exitOnConfigError, intOption, rootLogger, runUntilSignal, logLevelOption } from './util.js';

export function registerHubCommands(program: Command): void {
  const hub = program
    .command('hub')
    .description('run the hub: MQTT broker for gateways, event store, REST API, live push and pages')
    .enablePositionalOptions()
    .option('--http-port <port>', 'HTTP port for API, pages and Socket.IO (env RB_HTTP_PORT, default 8080)', intOption('--http-port'))
    .option('--mqtt-port <port>', 'MQTT port for gateways (env RB_MQTT_PORT, default 1883)', intOption('--mqtt-port'))
    .option('--data-dir <dir>', 'folder for registry and embedded store (env RB_DATA_DIR, default ./data)')
    .option('--host <address>', 'address to bind (env RB_HOST, default 0.0.0.0)')
    .addOption(logLevelOption())
    .option('--influx-url <url>', 'InfluxDB 1.x URL with database, e.g. http://127.0.0.1:8086/redbutler (env RB_INFLUX_URL)')
    .action(async (opts: { httpPort?: number; mqttPort?: number; dataDir?: string; host?: string; influxUrl?: string }, cmd: Command) => {
      let config;
      try {
        config = resolveHubConfig({
          dataDir: opts.dataDir ?? process.env.RB_DATA_DIR ?? './data',
          httpPort: opts.httpPort,
          mqttPort: opts.mqttPort,
          host: opts.host,
          influxUrl: opts.influxUrl,
          logLevel: (cmd.optsWithGlobals() as { logLevel?: 'info' }).logLevel,
        });
      } catch (err) {
        exitOnConfigError(err);
      }
      const log = rootLogger(cmd, 'hub', config.logLevel);
      const instance = createHub({ config, log });
      runUntilSignal(log, () => instance.stop());
      await instance.start();
    });

  registerRegistryCommands(hub);
}

/** Open the registry, run `fn`, print its result as JSON; a refusal goes to stderr with exit code 2. */
function withRegistry<T>(command: string, dataDir: string, fn: (registry: Registry) => T | Promise<T>): Promise<void> {
  const registry = openRegistry(dataDir);
  return Promise.resolve()
    .then(() => fn(registry))
    .then((result) => void process.stdout.write(`${JSON.stringify(result)}\n`))
    .catch((err: unknown) => {
      const code = err instanceof RbError ? `${err.code}: ` : '';
      process.stderr.write(`red-butler hub ${command}: ${code}${(err as Error).message}\n`);
      process.exitCode = 2;
    })
    .finally(() => registry.close());
}

type GatewayOpts = { dataDir: string; estate: string; gateway: string };

function registerRegistryCommands(hub: Command): void {
  const gateway = hub.command('gateway').description('provision gateways in the hub registry');
  const gatewayCommand = (name: string, description: string): Command =>
    gateway
      .command(name)
      .description(description)
      .requiredOption('--data-dir <dir>', "the hub's data folder")
      .requiredOption('--estate <id>', 'estate id ([a-z0-9-]{1,64})')
      .requiredOption('--gateway <id>', 'gateway id ([a-z0-9-]{1,64})');
  gatewayCommand('add', 'provision a gateway (or re-activate / re-issue one) and print its credentials as JSON').action((o: GatewayOpts) =>
    withRegistry('gateway add', o.dataDir, (r) => r.addGateway(o.estate, o.gateway)),
  );
  gatewayCommand('rotate', 'give a gateway a new password (the old one stops working; a running hub closes its connection) and print its credentials as JSON').action(
    (o: GatewayOpts) => withRegistry('gateway rotate', o.dataDir, (r) => r.rotateGateway(o.estate, o.gateway)),
  );
  gatewayCommand('revoke', 'revoke a gateway: refused from now on, a running hub closes its connection within ~1 s').action((o: GatewayOpts) =>
    withRegistry('gateway revoke', o.dataDir, (r) => r.revokeGateway(o.estate, o.gateway)),
  );
  gateway
    .command('list')
    .description('list provisioned gateways as JSON (no secrets)')
    .requiredOption('--data-dir <dir>', "the hub's data folder")
    .action((opts: { dataDir: string }) => {
      const registry = openRegistry(opts.dataDir);
      process.stdout.write(`${JSON.stringify(registry.listGateways(), null, 2)}\n`);
      registry.close();
    });

  hub
    .command('estate')
    .description('estates in the hub registry')
    .command('add')
    .description('add an estate (or update its street / name) and print it as JSON')
    .requiredOption('--data-dir <dir>', "the hub's data folder")
    .requiredOption('--estate <id>', 'estate id ([a-z0-9-]{1,64})')
    .option('--street <id>', 'the street the estate belongs to (add the street first)')
    .option('--name <name>', 'display name')
    .action((o: { dataDir: string; estate: string; street?: string; name?: string }) =>
      withRegistry('estate add', o.dataDir, (r) => r.addEstate(o.estate, { street: o.street, name: o.name })),
    );

  hub
    .command('street')
    .description('streets in the hub registry')
    .command('add')
    .description('add a street (or rename it) and print it as JSON')
    .requiredOption('--data-dir <dir>', "the hub's data folder")
    .requiredOption('--street <id>', 'street id ([a-z0-9-]{1,64})')
    .option('--name <name>', 'display name')
    .action((o: { dataDir: string; street: string; name?: string }) => withRegistry('street add', o.dataDir, (r) => r.addStreet(o.street, o.name)));
}
