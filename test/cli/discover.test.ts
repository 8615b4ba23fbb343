import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateGatewayConfig } from '../../gateway/config.js';
import { assertBuilt, CLI, runCli } from '../support/cli.js';

/**
 * `red-butler discover` against `red-butler simulate camera`, both real processes, inside a private
 * network namespace (unshare -n, as root): loopback up, multicast on, 224.0.0.0/4 routed to it. So the
 * probe really goes to 239.255.255.250:3702 and the camera really joined the group, and nothing
 * leaves this machine's LAN. One shell script starts the camera, waits until it is ready, runs every
 * discover at once, then stops the camera and records its exit code. The camera runs under
 * `timeout 25`, so it cannot outlive a test run that was killed.
 */
const PASSWORD = 'Cam-Secret-2718';
const dir = mkdtempSync(join(tmpdir(), 'rb-discover-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SCRIPT = `
set -u
ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo || exit 90
timeout 25 "$NODE" "$CLI" simulate camera --host 127.0.0.1 --username admin --discovery multicast > "$D/cam.out" 2> "$D/cam.err" &
CAM=$!
trap 'kill $CAM 2>/dev/null' EXIT
i=0
until grep -q deviceUrl "$D/cam.out"; do
  i=$((i + 1)); if [ $i -gt 150 ]; then exit 91; fi; sleep 0.1
done
run() { name=$1; shift; "$@" > "$D/$name.out" 2> "$D/$name.err"; echo $? > "$D/$name.rc"; }
DISCOVER="--timeout 2 --subnet 127.0.0.0/8 --username admin"
run ok "$NODE" "$CLI" discover $DISCOVER --password "$RB_SIM_CAMERA_PASSWORD" & P1=$!
run wrong "$NODE" "$CLI" discover $DISCOVER --password wrong-password & P2=$!
run yaml env RB_DISCOVER_PASSWORD="$RB_SIM_CAMERA_PASSWORD" "$NODE" "$CLI" discover $DISCOVER --yaml & P3=$!
run json "$NODE" "$CLI" discover $DISCOVER --password "$RB_SIM_CAMERA_PASSWORD" --json & P4=$!
run anonymous "$NODE" "$CLI" discover --timeout 2 --subnet 127.0.0.0/8 & P5=$!
run elsewhere "$NODE" "$CLI" discover --timeout 1 --subnet 10.0.0.0/8 & P6=$!
wait $P1 $P2 $P3 $P4 $P5 $P6
kill $CAM
wait $CAM
echo $? > "$D/cam.rc"
trap - EXIT
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the script in its own namespace and process group; killed whole after `ms`. */
function inNamespace(ms: number): Promise<{ code: number | null; stderr: string }> {
  const script = join(dir, 'discover.sh');
  writeFileSync(script, SCRIPT);
  return new Promise((resolve, reject) => {
    const proc = spawn('unshare', ['-n', 'sh', script], {
      env: { ...process.env, NODE: process.execPath, CLI, D: dir, RB_SIM_CAMERA_PASSWORD: PASSWORD },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      process.kill(-proc.pid!, 'SIGKILL');
      reject(new Error(`the namespace script did not finish in ${ms} ms\n${stderr}`));
    }, ms);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

const result = (name: string): Run => ({
  code: Number(readFileSync(join(dir, `${name}.rc`), 'utf8')),
  stdout: readFileSync(join(dir, `${name}.out`), 'utf8'),
  stderr: readFileSync(join(dir, `${name}.err`), 'utf8'),
});

describe('red-butler discover (multicast, private network namespace)', () => {
  beforeAll(async () => {
    assertBuilt();
    const probe = spawnSync('unshare', ['-n', 'true']);
    if (probe.status !== 0) throw new Error(`these tests need \`unshare -n\` (root): ${probe.stderr?.toString() ?? probe.error?.message}`);
    const started = Date.now();
    const r = await inNamespace(30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 35_000);

  it('finds the camera by multicast and shows make, model, firmware, and that the credentials work', () => {
    const r = result('ok');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/probing 239\.255\.255\.250:3702 .*for 2 s/);
    const row = r.stdout.split('\n').find((l) => l.startsWith('http://127.0.0.1:'));
    expect(row, r.stdout).toBeDefined();
    for (const cell of ['/onvif/device_service', 'RedButler', 'SIM-PTZ-1', 'V5.7.3', 'RB0001']) expect(row).toContain(cell);
    expect(row).toMatch(/\sok$/);
    expect(r.stdout).toMatch(/^地址 address\s+厂商 make\s+型号 model\s+固件 firmware/);
  });

  it('says when the password is wrong, and that make and model are unknown then', () => {
    const r = result('wrong');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('refused: wrong user or password');
    expect(r.stdout).not.toContain('SIM-PTZ-1');
  });

  it('without --username it does not check credentials', () => {
    const r = result('anonymous');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('not checked: no --username');
  });

  it('--yaml prints a devices entry the gateway config accepts, with a placeholder for the password', () => {
    const r = result('yaml');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(PASSWORD);
    expect(r.stdout).toMatch(/never printed/);
    const { devices } = parse(r.stdout) as { devices: Array<{ id: string; driver: string; options: Record<string, string> }> };
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({ id: 'cam-127-0-0-1', driver: 'onvif', options: { username: 'admin', password: '<camera password>' } });
    expect(devices[0]!.options.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/onvif\/device_service$/);
    devices[0]!.options.password = PASSWORD;
    const config = validateGatewayConfig({
      estate: 'maple-court',
      gateway: 'gw-1',
      hub: { url: 'mqtt://127.0.0.1:1883', username: 'maple-court.gw-1', password: 'x' },
      privacy: { salt: 'a-long-enough-salt' },
      devices,
    });
    expect(config.devices[0]).toMatchObject({ id: 'cam-127-0-0-1', driver: 'onvif' });
  });

  it('--json is one document with what was learnt, and no password', () => {
    const r = result('json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(PASSWORD);
    const doc = JSON.parse(r.stdout) as { subnets: string[]; cameras: Array<Record<string, unknown>> };
    expect(doc.subnets).toEqual(['127.0.0.0/8']);
    expect(doc.cameras).toHaveLength(1);
    expect(doc.cameras[0]).toMatchObject({
      credentials: 'ok',
      name: 'RedButler-SIM',
      info: { manufacturer: 'RedButler', model: 'SIM-PTZ-1', firmware: 'V5.7.3', serial: 'RB0001', hardwareId: '88' },
    });
    expect(doc.cameras[0]!.endpoint).toMatch(/^urn:uuid:/);
    expect(Math.abs(doc.cameras[0]!.clockOffsetMs as number)).toBeLessThan(2_000);
  });

  it('exits 1 when no camera answers inside the subnets, and says which answer it ignored', () => {
    const r = result('elsewhere');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/ignored http:\/\/127\.0\.0\.1:\d+\/onvif\/device_service .*outside 10\.0\.0\.0\/8; add --subnet/);
  });

  it('the simulated camera stopped cleanly on SIGTERM', () => {
    expect(readFileSync(join(dir, 'cam.rc'), 'utf8').trim()).toBe('0');
    expect(JSON.parse(readFileSync(join(dir, 'cam.out'), 'utf8'))).toMatchObject({ discovery: '239.255.255.250:3702' });
  });
});

describe('red-butler discover usage', () => {
  it('--help explains it', async () => {
    const r = await runCli(['discover', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--timeout', '--subnet', '--username', '--password', 'RB_DISCOVER_PASSWORD', '--yaml', '--json']) expect(r.stdout).toContain(flag);
  });

  it.each([
    [['--subnet', '192.168.1.0/33'], /not an IPv4 CIDR block/],
    [['--timeout', 'soon'], /--timeout/],
    [['--yaml', '--json'], /cannot be used with/],
    [['--password', 'x'], /--password needs --username/],
  ])('%j is a usage error: exit 2', async (args, message) => {
    const r = await runCli(['discover', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
