import { Command } from 'commander';
import { createHub } from '../hub/main.js';
import { resolveHubConfig } from '../hub/config.js';
import { openRegistry } from '../hub/registry.js';
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

  const gateway = hub.command('gateway').description('provision gateways in the hub registry');
  gateway
    .command('add')
    .description('provision a gateway (or issue it a new password) and print its credentials as JSON')
    .requiredOption('--data-dir <dir>', "the hub's data folder")
    .requiredOption('--estate <id>', 'estate id ([a-z0-9-]{1,64})')
    .requiredOption('--gateway <id>', 'gateway id ([a-z0-9-]{1,64})')
    .action(async (opts: { dataDir: string; estate: string; gateway: string }) => {
      const registry = openRegistry(opts.dataDir);
      try {
        const creds = await registry.addGateway(opts.estate, opts.gateway);
        process.stdout.write(`${JSON.stringify(creds)}\n`);
      } catch (err) {
        process.stderr.write(`red-butler hub gateway add: ${(err as Error).message}\n`);
        process.exitCode = 2;
      } finally {
        registry.close();
      }
    });
  gateway
    .command('list')
    .description('list provisioned gateways as JSON (no secrets)')
    .requiredOption('--data-dir <dir>', "the hub's data folder")
    .action((opts: { dataDir: string }) => {
      const registry = openRegistry(opts.dataDir);
      process.stdout.write(`${JSON.stringify(registry.listGateways(), null, 2)}\n`);
      registry.close();
    });
}
