// Bundle the screens (web/src, Preact + socket.io-client) into dist/hub/web: minified, content-hashed
// assets under assets/ and an index.html that names them. Prints each file's size and gzip size and
// fails when the gzipped JavaScript passes the budget, so the app stays small for estate PCs and phones.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { iconFiles } from './icons.mjs';

/** Gzipped JavaScript budget (KiB). Preact + signals + socket.io-client + the views are ~35 KiB. */
const JS_BUDGET_KIB = 120;
const OUT = 'dist/hub/web';

rmSync(OUT, { recursive: true, force: true });
mkdirSync(`${OUT}/assets`, { recursive: true });

const result = await build({
  entryPoints: { app: 'web/src/main.tsx' },
  bundle: true,
  minify: true,
  format: 'esm',
  // Code only some screens use (the patrol tab's QR decoder) is a chunk they import when needed.
  splitting: true,
  platform: 'browser',
  target: ['chrome100', 'safari15', 'firefox100'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: `${OUT}/assets`,
  entryNames: '[name]-[hash]',
  sourcemap: false,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
  tsconfig: 'web/tsconfig.json',
});

// The service worker (web/src/sw.ts): one file at the web root, not hashed (its URL is its identity:
// /sw.js, scope /), served without caching so a new release replaces it at once.
const swResult = await build({
  entryPoints: { sw: 'web/src/sw.ts' },
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome100', 'safari15', 'firefox100'],
  outdir: OUT,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
  tsconfig: 'web/tsconfig.json',
});
for (const f of Object.keys(swResult.metafile.inputs)) if (!f.startsWith('web/src/')) throw new Error(`build-web: the service worker pulls in ${f}`);

// The screens take only types from protocol/ and nothing else of ours (eslint.config.js boundaries):
// check the bundle too, so no hub, gateway or Node code can reach a browser by any path.
const foreign = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('web/') && !/(^|\/)node_modules\//.test(f));
if (foreign.length) throw new Error(`build-web: the bundle pulls in code from outside web/: ${foreign.join(', ')}`);
const serverInputs = Object.keys(result.metafile.inputs).filter((f) => /(^|\/)node_modules\/(better-sqlite3|pino|express|aedes|mqtt|influx|socket\.io\/|prom-client|kysely|pg)\//.test(f));
if (serverInputs.length) throw new Error(`build-web: the bundle pulls in server packages: ${serverInputs.join(', ')}`);
for (const file of Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'))) {
  const text = readFileSync(file, 'utf8');
  const marker = ['better-sqlite3', '"node:', "'node:", 'RB_HUB_', 'createRequire'].find((m) => text.includes(m));
  if (marker) throw new Error(`build-web: ${file} contains ${marker}: server code reached the bundle`);
}

const outputs = Object.keys(result.metafile.outputs);
const js = outputs.find((f) => result.metafile.outputs[f].entryPoint === 'web/src/main.tsx');
const css = outputs.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error(`build-web: expected the app's .js and one .css output, got ${outputs.join(', ')}`);
// What every page loads: the app and the chunks it imports statically; the rest loads on demand.
const initial = new Set([js]);
for (const f of initial) for (const i of result.metafile.outputs[f].imports) if (i.kind === 'import-statement') initial.add(i.path);
const lazy = outputs.filter((f) => f.endsWith('.js') && !initial.has(f));
const html = readFileSync('web/index.html', 'utf8')
  .replace('{{js}}', `/assets/${basename(js)}`)
  .replace('{{css}}', `/assets/${basename(css)}`);
writeFileSync(`${OUT}/index.html`, html);
// Favicon, app icons and the web app manifest, generated (scripts/icons.mjs): served from the web root.
const icons = iconFiles();
for (const [name, body] of Object.entries(icons)) writeFileSync(`${OUT}/${name}`, body);

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
let jsGzip = 0;
for (const file of [`${OUT}/index.html`, ...outputs, ...Object.keys(swResult.metafile.outputs), ...Object.keys(icons).map((n) => `${OUT}/${n}`)]) {
  const size = statSync(file).size;
  const gz = gzipSync(readFileSync(file), { level: 9 }).length;
  if (file.endsWith('.js') && !lazy.includes(file)) jsGzip += gz;
  console.log(`build-web: ${file.padEnd(44)} ${kib(size).padStart(10)}  gzip ${kib(gz).padStart(9)}${lazy.includes(file) ? '  (on demand)' : ''}`);
}
console.log(`build-web: JavaScript gzip ${kib(jsGzip)} of a ${JS_BUDGET_KIB} KiB budget (what every page loads; the chunks on demand are not counted)`);
if (jsGzip > JS_BUDGET_KIB * 1024) {
  console.error(`build-web: the gzipped JavaScript (${kib(jsGzip)}) is over its budget of ${JS_BUDGET_KIB} KiB`);
  process.exit(1);
}
