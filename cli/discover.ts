import { Command, InvalidArgumentError, Option } from 'commander';
import { deviceUsername } from '../devices/common-options.js';
import { discover, subnetMatcher, WS_DISCOVERY_MULTICAST, type DiscoveredCamera } from '../devices/onvif-camera/discovery.js';
import { checkAll, localNetworks } from './discover-check.js';
import { gatewayYaml, json, table } from './discover-report.js';

interface DiscoverCliOptions {
  timeout: number;
  subnet?: string[];
  username?: string;
  password?: string;
  yaml?: boolean;
  json?: boolean;
}

/** Each ONVIF call gets this long; a camera that takes longer is reported unreachable. */
const REQUEST_TIMEOUT_MS = 3_000;

const timeout = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 60) throw new InvalidArgumentError('must be a number of seconds, at most 60');
  return n;
};

/** --subnet, repeatable and comma-separated; every block checked here, so a typo is a usage error. */
const subnets = (value: string, previous: string[] = []): string[] => {
  const blocks = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const b of blocks) {
    try {
      subnetMatcher(b);
    } catch {
      throw new InvalidArgumentError(`"${b}" is not an IPv4 CIDR block such as 192.168.1.0/24`);
    }
  }
  return [...previous, ...blocks];
};

const username = (value: string): string => {
  if (!deviceUsername().safeParse(value).success) throw new InvalidArgumentError('must be 1-64 printable ASCII characters');
  return value;
};

const HELP = `
How it works: one WS-Discovery Probe for ONVIF cameras (dn:NetworkVideoTransmitter) goes to
239.255.255.250:3702, out of each of this machine's interfaces inside the accepted subnets; cameras
answer with their device service URL. Only answers whose URL is inside the subnets are kept (an answer
from elsewhere is reported on stderr with a --subnet hint). Each camera is then asked for its clock
(GetSystemDateAndTime) and, with --username, for its make and model (GetDeviceInformation, one
authenticated call: a wrong password costs one failed login).

Subnets: --subnet, repeatable or comma-separated. Default: the subnets of this machine's non-loopback
IPv4 interfaces; 127.0.0.0/8 only when there are none (simulated cameras on this machine).

Output: a table on stdout (--json: one JSON document; --yaml: devices entries for the gateway config,
with a placeholder where the password goes: the password given here is never printed). Progress on
stderr. Exit code 0 when at least one camera was found, 1 when none, 2 on a usage error.

Example:
  RB_DISCOVER_PASSWORD='…' red-butler discover --username admin --subnet 192.168.1.0/24 --yaml >> cameras.yaml
`;

export function registerDiscoverCommand(program: Command): void {
  program
    .command('discover')
    .description('find the ONVIF cameras on the estate LAN (WS-Discovery), show make, model and firmware, check credentials, print gateway config entries')
    .option('--timeout <seconds>', 'how long to wait for answers to the probe', timeout, 3)
    .option('--subnet <cidr>', 'accept cameras in this IPv4 block, e.g. 192.168.1.0/24 (repeatable; default: the local subnets)', subnets)
    .option('--username <user>', 'ONVIF user to check on every camera', username)
    .addOption(new Option('--password <password>', 'its password (env RB_DISCOVER_PASSWORD: keeps it out of the shell history)').env('RB_DISCOVER_PASSWORD'))
    .addOption(new Option('--yaml', 'print devices entries for the gateway config instead of the table').conflicts('json'))
    .addOption(new Option('--json', 'print one JSON document instead of the table').conflicts('yaml'))
    .addHelpText('after', HELP)
    .action(async (o: DiscoverCliOptions, cmd: Command) => {
      if (o.username === undefined && cmd.getOptionValueSource('password') === 'cli') cmd.error('error: --password needs --username', { exitCode: 2 });
      const local = localNetworks();
      let accepted = o.subnet ?? [...new Set(local.filter((n) => !n.internal).map((n) => n.cidr))];
      if (accepted.length === 0) {
        accepted = ['127.0.0.0/8'];
        process.stderr.write('discover: this machine has no network interface besides loopback; accepting 127.0.0.0/8 only\n');
      }
      const inAccepted = accepted.map(subnetMatcher);
      // One probe out of each interface with an address in the subnets (its first such address).
      const byIface = new Map<string, string>();
      for (const n of local) if (!byIface.has(n.iface) && inAccepted.some((m) => m(n.address))) byIface.set(n.iface, n.address);
      const interfaces = [...byIface.values()];
      const { address, port } = WS_DISCOVERY_MULTICAST;
      process.stderr.write(
        `discover: probing ${address}:${port}${interfaces.length ? ` from ${interfaces.join(', ')}` : ''} for ${o.timeout} s; accepting cameras in ${accepted.join(', ')}…\n`,
      );
      const outside = new Map<string, DiscoveredCamera>();
      let found: DiscoveredCamera[];
      try {
        found = await discover({ subnets: accepted, timeoutMs: o.timeout * 1000, ...(interfaces.length && { interfaces }), outside: (c) => void outside.set(c.endpoint, c) });
      } catch (err) {
        process.stderr.write(`discover: cannot probe: ${(err as Error).message}\n`);
        process.exit(1);
      }
      for (const c of outside.values()) {
        if (found.some((f) => f.endpoint === c.endpoint)) continue;
        process.stderr.write(`discover: ignored ${c.xaddrs[0]} (answered from ${c.from}): outside ${accepted.join(', ')}; add --subnet for it to be checked\n`);
      }
      if (found.length === 0) {
        const where = outside.size > 0 ? ` inside ${accepted.join(', ')}` : '';
        process.stderr.write(`discover: no camera answered${where}. Is ONVIF enabled on the cameras, and are they on this LAN? (--timeout to wait longer)\n`);
        process.exitCode = 1;
        if (o.json) process.stdout.write(json([], accepted));
        return;
      }
      process.stderr.write(`discover: ${found.length} camera(s) answered; asking each for its clock${o.username !== undefined ? ' and device information' : ''}…\n`);
      const cams = await checkAll(found, { username: o.username, password: o.password }, REQUEST_TIMEOUT_MS);
      if (o.json) process.stdout.write(json(cams, accepted));
      else if (o.yaml) process.stdout.write(gatewayYaml(cams, o.username));
      else process.stdout.write(table(cams));
      process.exitCode = 0;
    });
}
