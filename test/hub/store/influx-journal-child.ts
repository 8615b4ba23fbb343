/**
 * Child process of influx-journal.test.ts: an InfluxDB store in journal mode (as the hub runs it).
 * argv: url spoolFile eventsFile. Prints `started`, then on a line on stdin writes the events and
 * prints `acked`, then idles until killed.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createInfluxStore } from '../../../hub/store/influx.js';
import { silentLogger } from '../../../lib/log.js';
import type { RbEvent } from '../../../protocol/index.js';

const [url, spoolFile, eventsFile] = process.argv.slice(2) as [string, string, string];
const store = createInfluxStore({ url, log: silentLogger(), spoolFile, journal: true, retention: { raw: 'INF' } });
await store.start();
process.stdout.write('started\n');
const events = JSON.parse(readFileSync(eventsFile, 'utf8')) as RbEvent[];
createInterface({ input: process.stdin }).once('line', () => {
  void Promise.all([0, 1, 2, 3].map((k) => store.write(events.filter((_, i) => i % 4 === k)))).then(() => process.stdout.write('acked\n'));
});
setInterval(() => undefined, 60_000);
