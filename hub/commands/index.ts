export { createCommands, type Commands, type CommandsDeps, type SendCommand } from './service.js';
export { createCommandStore, type CommandRecord, type CommandStore, type CommandChange } from './store.js';
