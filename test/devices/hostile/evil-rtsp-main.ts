import { h264Sample, startEvilRtsp, type EvilRtspOptions, type Pattern } from './evil-rtsp.js';

/**
 * spawnEvilRtsp's child: `node --import tsx evil-rtsp-main.ts '<options JSON>' <pattern>`. Writes one JSON line
 * with its port once listening, then its counters every 100 ms while they change; SIGTERM stops it.
 */
const server = await startEvilRtsp(h264Sample(640, 360, 2, (process.argv[3] ?? 'testsrc2') as Pattern), JSON.parse(process.argv[2] ?? '{}') as EvilRtspOptions);
let last = '';
const report = (): void => {
  const line = JSON.stringify({ port: server.port, plays: server.plays(), connections: server.connections(), huge: server.hugeWritten() });
  if (line !== last) process.stdout.write(`${line}\n`);
  last = line;
};
report();
const timer = setInterval(report, 100);
process.once('SIGTERM', () => {
  clearInterval(timer);
  void server.stop().then(() => process.exit(0));
});
