/**
 * Summarise a V8 .cpuprofile (node --cpu-prof) by self time: the top functions, and the same time
 * grouped by area (our modules by folder, node_modules by package, node internals, GC, idle).
 *
 *   npx tsx bench/cpuprofile.ts /tmp/prof/CPU.*.cpuprofile [--top 40]
 *
 * Idle and "(program)" are reported but left out of the percentages, so the shares are of the CPU
 * the process actually used.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const TOP = topAt >= 0 ? Number(args[topAt + 1]) : 40;
const files = args.filter((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1));

function area(url: string, name: string): string {
  if (name === '(garbage collector)') return '(gc)';
  if (name === '(idle)') return '(idle)';
  if (name === '(program)') return '(program)';
  if (!url) return '(native/builtin)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const ours = /\/(dist|main)\/((?:hub|protocol|lib|gateway)\/[^/]+)/.exec(url);
  if (ours) return ours[2]!.replace(/\.js$/, '');
  return url.split('/').slice(-2).join('/');
}

for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const fn = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    const a = area(url, functionName);
    if (a === '(idle)' || a === '(program)') {
      idle += us;
      continue;
    }
    total += us;
    const key = `${functionName || '(anonymous)'}  ${url.replace(/^.*\/(node_modules|dist)\//, '$1/').replace(/^file:\/\//, '')}:${lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const pct = (us: number): string => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  const ms = (us: number): string => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  console.log(`\n${file}: ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s wall, ${(total / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle/program`);
  console.log('\nby area (self time):');
  for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, 25)) console.log(`${ms(us)} ${pct(us)}  ${a}`);
  console.log(`\ntop ${TOP} functions (self time):`);
  for (const [k, us] of [...fn].sort((x, y) => y[1] - x[1]).slice(0, TOP)) console.log(`${ms(us)} ${pct(us)}  ${k}`);
}
