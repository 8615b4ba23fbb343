// `npm run check`: the hub's and the screens' type checks and eslint, side by side (the machine has
// two cores and each check mostly waits on one). Each keeps what it learnt in .cache/ (gitignored): tsc
// its build info (--incremental: only what changed, and what depends on it, is checked again; errors
// are kept in it, so a second run still reports them), eslint its cache (a file whose content and
// config are unchanged is not linted again). Each check's output is printed whole, under its name,
// when it ends; the exit code is 1 when any of them failed.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cache = join(root, '.cache');
mkdirSync(join(cache, 'eslint'), { recursive: true });
const tty = process.stdout.isTTY === true;
const bin = (name) => join(root, 'node_modules', '.bin', name);
const tsc = (project, info) => [bin('tsc'), ['--noEmit', '--incremental', '--tsBuildInfoFile', join(cache, info), '-p', project, ...(tty ? ['--pretty'] : [])]];

const CHECKS = [
  ['tsc (hub, tsconfig.json)', ...tsc('tsconfig.json', 'tsc-hub.tsbuildinfo')],
  ['tsc (web, web/tsconfig.json)', ...tsc('web/tsconfig.json', 'tsc-web.tsbuildinfo')],
  ['eslint', bin('eslint'), ['--cache', '--cache-strategy', 'content', '--cache-location', join(cache, 'eslint') + '/', ...(tty ? ['--color'] : []), '.']],
];

function run([name, cmd, args]) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => out.push(d));
    const done = (code, detail = '') => {
      const s = ((Date.now() - started) / 1000).toFixed(1);
      const text = Buffer.concat(out).toString().trimEnd();
      process.stdout.write(`── ${name}: ${code === 0 ? 'ok' : `FAILED (${detail || `exit ${code}`})`} in ${s} s\n${text ? `${text}\n` : ''}`);
      resolve(code === 0);
    };
    child.on('error', (err) => done(1, err.message));
    child.on('close', (code, signal) => done(code ?? 1, signal ? `killed by ${signal}` : ''));
  });
}

const results = await Promise.all(CHECKS.map(run));
const failed = CHECKS.filter((_, i) => !results[i]).map(([name]) => name);
if (failed.length > 0) {
  process.stdout.write(`check failed: ${failed.join(', ')}\n`);
  process.exitCode = 1;
}
