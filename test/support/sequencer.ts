import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that take most of a minute or more, longest first, with what they took on CI (2 cores).
 * Their length is the fault they hold (a 60 s hub outage, 60 s of link flaps, a 30 s influxd stop, 20
 * hub restarts, a one-minute overstay), not waiting to shorten.
 */
const SLOW: Array<[prefix: string, seconds: number]> = [
  ['test/faults/cluster-', 90],
  ['test/hub/cluster/', 60],
  ['test/faults/hub-outage.test.ts', 70],
  ['test/faults/link-flap.test.ts', 63],
  ['test/cli/demo-incidents.test.ts', 62],
  ['test/faults/hub-kill9-replay.test.ts', 50],
  ['test/faults/influx-outage.test.ts', 40],
  ['test/cli/cli.test.ts', 24],
  ['test/cli/simulate.test.ts', 18],
  ['test/devices/onvif-camera/driver.test.ts', 15],
];

function expectedSeconds(root: string, spec: TestSpecification): number {
  const path = relative(root, spec.moduleId).split('\\').join('/');
  return SLOW.find(([prefix]) => path.startsWith(prefix))?.[1] ?? 0;
}

/**
 * Vitest runs unknown files largest first (by bytes) when it has no durations cached, as on a fresh
 * CI clone: the minute-long fault tests are small files and started last, so one worker was still
 * in a 60 s outage long after the other had run out of files. This runs the known-slow files first,
 * longest first, then the rest in vitest's own order (failed first, longest first, largest first).
 */
export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const root = this.ctx.config.root;
    // Array.prototype.sort is stable: files of equal weight (0 for the rest) keep the base order.
    return [...base].sort((a, b) => expectedSeconds(root, b) - expectedSeconds(root, a));
  }
}
