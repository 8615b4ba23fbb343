import { Command } from 'commander';
import { createLogger } from '../lib/log.js';
import { exitOnConfigError, runUntilSignal, logLevelOption } from './util.js';

export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description('run an estate gateway: device drivers, outbox and the MQTT uplink to the hub; SIGHUP re-reads the config file (devices added, removed or changed restart; other keys need a restart)')
    .option('--config <file>', 'gateway config file (YAML)')
    .addOption(logLevelOption())
    .option('--check-config <file>', 'validate a config file, print every error with its key path, and exit')
    .action(async (opts: { config?: string; checkConfig?: string }, cmd: Command) => {
      // Loaded when the command runs, not for --help.
      const { loadGatewayConfig } = await import('../gateway/config.js');
      if (opts.checkConfig) {
        try {
          const config = loadGatewayConfig(opts.checkConfig);
          process.stdout.write(`${opts.checkConfig}: OK (estate ${config.estate}, gateway ${config.gateway}, ${config.devices.length} device(s))\n`);
          return;
        } catch (err) {
          exitOnConfigError(err);
        }
      }
      if (!opts.config) {
        process.stderr.write('red-butler gateway: --config <file> is required (see --help)\n');
        process.exit(2);
      }
      let config;
      try {
        config = loadGatewayConfig(opts.config);
      } catch (err) {
        exitOnConfigError(err);
      }
      const level = (cmd.optsWithGlobals() as { logLevel?: string }).logLevel ?? config.log.level;
      const log = createLogger({ name: 'gateway', level });
      const { createGateway } = await import('../gateway/main.js');
      const gateway = createGateway({ config, log });
      runUntilSignal(log, () => gateway.stop());
      // SIGHUP: read the file again and apply it (devices restart as needed); a bad file changes nothing.
      const file = opts.config;
      let reloading = Promise.resolve();
      process.on('SIGHUP', () => {
        reloading = reloading.then(async () => {
          let next;
          try {
            next = loadGatewayConfig(file);
          } catch (err) {
            log.error({ err: err instanceof Error ? err.message : String(err) }, `config reload refused: ${file} is not valid; the gateway keeps the config it runs`);
            return;
          }
          await gateway.reload(next).catch((err: unknown) => log.error({ err }, 'config reload failed'));
        });
      });
      await gateway.start();
    });
}
