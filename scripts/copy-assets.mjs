// Copy non-TypeScript files the compiled code reads at run time (pages, protocol examples) into dist/.
import { cpSync, mkdirSync } from 'node:fs';

for (const dir of ['hub/web']) {
  mkdirSync(`dist/${dir}`, { recursive: true });
  cpSync(dir, `dist/${dir}`, { recursive: true, filter: (src) => !src.endsWith('.ts') });
}
