import { Command } from 'commander';
import { VERSION } from '../lib/version.js';
import { registerHubCommands } from './hub.js';
import { registerGatewayCommand } from './gateway.js';
import { registerSimulateCommand } from './simulate.js';
import { registerDemoCommand } from './demo.js';
import { registerDiscoverCommand } from './discover.js';

/** Every command of the CLI, not yet parsed: main.ts runs it, test/cli/readme.test.ts reads it. */
export function buildProgram(): Command {
  const program = new Command('red-butler')
    .description('红管家 Red Butler — estate gateways, hub, simulators and demo')
    .version(VERSION)
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError()
    // A usage error (unknown command or option, missing or bad argument) exits 2, like a config error;
    // --help and --version exit 0. Set before the commands are added: they inherit it.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .enablePositionalOptions();

  registerHubCommands(program);
  registerGatewayCommand(program);
  registerSimulateCommand(program);
  registerDemoCommand(program);
  registerDiscoverCommand(program);
  return program;
}
