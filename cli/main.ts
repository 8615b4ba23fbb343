import { Command } from 'commander';
import { VERSION } from '../lib/version.js';
import { registerHubCommands } from './hub.js';
import { registerGatewayCommand } from './gateway.js';
import { registerSimulateCommand } from './simulate.js';
import { registerDemoCommand } from './demo.js';

const program = new Command('red-butler')
  .description('红管家 Red Butler — estate gateways, hub, simulators and demo')
  .version(VERSION)
  .showHelpAfterError('(add --help for usage)')
  .enablePositionalOptions();

registerHubCommands(program);
registerGatewayCommand(program);
registerSimulateCommand(program);
registerDemoCommand(program);

await program.parseAsync(process.argv);
