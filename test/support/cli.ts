import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../bin/red-butler.js', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** The CLI tests run the built CLI, as users do; `npm test` builds it first. */
export function assertBuilt(): void {
  if (!existsSync(DIST)) throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `red-butler ...args` to completion (bounded by `timeoutMs`). */
export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; /** Sees stderr as it arrives (progress lines). */ onStderr?: (chunk: string) => void } = {},
): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(d.toString());
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`red-butler ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 20_000} ms\n${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    // 'close', not 'exit': the pipes may still hold output when the process has exited.
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Start a long-running `red-butler ...args`; the caller stops it with `stopProcess`. */
export function startCli(args: string[], env?: NodeJS.ProcessEnv): ChildProcess & { output: () => string } {
  assertBuilt();
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return Object.assign(proc, { output: () => out });
}

export async function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', ms = 10_000): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), ms);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
