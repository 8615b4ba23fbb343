/**
 * Writes the Grafana provisioning and dashboard JSON under dashboards/ from dashboards/src
 * (`npm run gen:dashboards`): json/<lang>/<uid>.json for each language. test/dashboards checks that
 * the committed files are current.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFiles } from '../dashboards/src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'dashboards');
const files = generateFiles();
// A dashboard removed from the source (or moved into a language folder) must not linger as a stale file.
for (const entry of readdirSync(join(root, 'json'), { recursive: true, withFileTypes: true })) {
  const path = relative(root, join(entry.parentPath, entry.name)).split('\\').join('/');
  if (entry.isFile() && !files.has(path)) rmSync(join(root, path));
}
for (const [path, content] of files) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
}
process.stdout.write(`gen-dashboards: wrote ${files.size} files under dashboards/\n`);
