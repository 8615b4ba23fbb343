#!/usr/bin/env node
// Entry point of the `red-butler` CLI. The TypeScript sources are compiled to dist/ by `npm run build`
// (run automatically by `npm install` through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('red-butler: dist/ is missing. Run `npm install` (or `npm run build`) in the project folder first.');
  process.exit(1);
}
await import(main.href);
