import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded the first time it is used, not when the process starts. The hub's start
 * (and so the demo's first alert, and every test that spawns a hub) paid ~0.7 s on this 2-core VM
 * for packages most hubs never touch: PostgreSQL and Redis clients on an embedded hub, the PDF and
 * image libraries until someone prints a poster or uploads a photo. `T` is `typeof import('pkg')`;
 * what `require` returns is what `import pkg from 'pkg'` gives.
 */
export function lazyRequire<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}
