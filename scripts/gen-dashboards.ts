/**
 * Writes the Grafana provisioning and dashboard JSON under dashboards/ from dashboards/src
 * (`npm run gen:dashboards`). test/dashboards checks that the committed files are current.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFiles } from '../dashboards/src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'dashboards');
const files = generateFiles();
// A dashboard removed from the source must not linger as a stale JSON file.
for (const name of readdirSync(join(root, 'json'), { withFileTypes: true }).filter((d) => d.isFile())) {
  if (!files.has(`json/${name.name}`)) rmSync(join(root, 'json', name.name));
}
for (const [path, content] of files) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
}
process.stdout.write(`gen-dashboards: wrote ${files.size} files under dashboards/\n`);
