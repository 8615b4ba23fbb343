/**
 * Free ports and waiting for a listener: the same helpers `red-butler demo --cluster` uses
 * (lib/cluster/launcher.ts). freePort: a port of 127.0.0.1 that was free a moment ago; another
 * process can take it before the caller binds it, which is acceptable for tests (the kernel hands
 * out ephemeral ports round-robin, so an immediate reuse is unlikely).
 */
export { freePort, waitForPort } from '../../lib/cluster/launcher.js';
