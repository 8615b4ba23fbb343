import { Command, InvalidArgumentError, Option } from 'commander';
import { isIPv4 } from 'node:net';
import { startRtspSimulator, type RtspSimulator } from '../devices/onvif-camera/rtsp-sim.js';
import { createOnvifSimulator } from '../devices/onvif-camera/simulator.js';

interface CameraOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  discovery: 'multicast' | 'off' | number;
  clockOffset: number;
  rtspPort?: number;
}

const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
};

const discoveryMode = (value: string): CameraOptions['discovery'] => {
  if (value === 'multicast' || value === 'off') return value;
  try {
    return port(value);
  } catch {
    throw new InvalidArgumentError('must be multicast, off or a UDP port');
  }
};

const seconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || Math.abs(n) > 10 * 365 * 86_400) throw new InvalidArgumentError('must be a number of seconds');
  return n;
};

const HELP = `
The camera answers like an ONVIF Profile S device: GetSystemDateAndTime without credentials, every
other call only with a WS-Security UsernameToken (PasswordDigest) of --username/--password.
Identity: RedButler SIM-PTZ-1, firmware V5.7.3, serial RB0001.

When it is ready it prints one JSON line on stdout, e.g.
  {"deviceUrl":"http://127.0.0.1:18001/onvif/device_service","discovery":"239.255.255.250:3702"}
and runs until SIGINT/SIGTERM.

--rtsp-port serves the camera's live stream too (GStreamer's RTSP server through /usr/bin/python3 and
python3-gi): rtsp://HOST:PORT/main 1280x720 and /sub 640x360 H.264, behind the same username and
password (RTSP Digest); GetStreamUri gives those addresses. Without it GetStreamUri is a SOAP fault.

--discovery multicast joins 239.255.255.250 on the interface of --host and answers probes on UDP 3702
(sharing the port with other responders), as a real camera does; a port number answers unicast probes
on --host:PORT only; off: no WS-Discovery.

Example (then, on the same LAN: red-butler discover --username admin --password 'cam-pass-1'):
  RB_SIM_CAMERA_PASSWORD=cam-pass-1 red-butler simulate camera --host 192.168.1.50 --port 8000 --username admin
`;

export function registerSimulateCameraCommand(simulate: Command): void {
  simulate
    .command('camera')
    .description('run one simulated ONVIF camera (device, media, PTZ, events, WS-Discovery) to try a gateway or `red-butler discover` without hardware')
    .option('--host <address>', 'IPv4 address to serve on; the camera announces it in WS-Discovery', '127.0.0.1')
    .option('--port <port>', 'HTTP port of the ONVIF services (0 picks a free one)', port, 0)
    .requiredOption('--username <user>', 'the ONVIF user the camera accepts')
    .addOption(new Option('--password <password>', "that user's password").env('RB_SIM_CAMERA_PASSWORD').makeOptionMandatory())
    .addOption(new Option('--discovery <mode>', 'WS-Discovery: multicast, a UDP port on --host, or off').argParser(discoveryMode).default('multicast'))
    .option('--clock-offset <seconds>', 'the camera clock runs this far ahead of real time (negative: behind)', seconds, 0)
    .option('--rtsp-port <port>', "serve the camera's live stream over RTSP on this port too (0 picks a free one)", port)
    .addHelpText('after', HELP)
    .action(async (o: CameraOptions) => {
      if (!isIPv4(o.host) || o.host === '0.0.0.0') {
        process.stderr.write('red-butler simulate camera: --host must be one IPv4 address of this machine (the camera announces it to clients)\n');
        process.exit(2);
      }
      let rtsp: RtspSimulator | undefined;
      if (o.rtspPort !== undefined) {
        try {
          rtsp = await startRtspSimulator({ host: o.host, port: o.rtspPort, username: o.username, password: o.password });
        } catch (err) {
          process.stderr.write(`red-butler simulate camera: ${(err as Error).message}\n`);
          process.exit(1);
        }
      }
      const sim = createOnvifSimulator({
        host: o.host,
        port: o.port,
        username: o.username,
        password: o.password,
        clockOffsetMs: Math.round(o.clockOffset * 1000),
        discoveryPort: o.discovery === 'off' ? false : o.discovery === 'multicast' ? 3702 : o.discovery,
        discoveryMulticast: o.discovery === 'multicast',
        rtspUrl: rtsp?.url(''),
      });
      try {
        await sim.start();
      } catch (err) {
        await sim.stop().catch(() => undefined);
        await rtsp?.stop();
        process.stderr.write(`red-butler simulate camera: ${(err as Error).message}\n`);
        process.exit(1);
      }
      const discovery = o.discovery === 'off' ? null : o.discovery === 'multicast' ? '239.255.255.250:3702' : `${o.host}:${sim.discoveryPort()}`;
      const streams = rtsp ? { main: rtsp.url('main'), sub: rtsp.url('sub') } : null;
      process.stdout.write(`${JSON.stringify({ deviceUrl: sim.deviceUrl(), discovery, ...(streams && { rtsp: streams }) })}\n`);
      process.stderr.write(`simulated ONVIF camera at ${sim.deviceUrl()}${discovery ? `, WS-Discovery on ${discovery}` : ''}${streams ? `, live video at ${streams.main} and ${streams.sub}` : ''}; Ctrl+C stops it\n`);
      let stopping = false;
      const stop = (): void => {
        if (stopping) return;
        stopping = true;
        Promise.all([sim.stop(), rtsp?.stop()]).then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
