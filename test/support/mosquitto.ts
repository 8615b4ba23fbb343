import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.js';

export interface Mosquitto {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'];

/** A bare Mosquitto 2.x on 127.0.0.1 (anonymous, no persistence): the baseline broker for benchmarks. */
export async function startMosquitto(): Promise<Mosquitto> {
  const bin = CANDIDATES.find((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!bin) throw new Error('mosquitto (Debian package "mosquitto") is not installed: run scripts/ensure-deps.sh');
  const dir = await mkdtemp(join(tmpdir(), 'rb-mosquitto-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest none', 'max_inflight_messages 0', 'max_queued_messages 0', ''].join('\n'));
  const proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitForPort(port, 10_000, () => proc.exitCode === null);
  } catch {
    proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`mosquitto did not start: ${stderr.slice(-2000)}`);
  }
  return {
    port,
    pid: proc.pid!,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
