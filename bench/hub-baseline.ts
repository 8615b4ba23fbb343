/**
 * The previous release as the comparison in the same run (bench/hub.ts): `RB_BENCH_BASELINE_REF`
 * (any git ref; default the commit before issue 16's "one database" work began) is checked out in a
 * temp git worktree, its TypeScript compiled there (`tsc -p tsconfig.build.json`, the hub's part of
 * its `npm run build`; the web bundle is not needed to ingest), with node_modules a symlink to this
 * tree's, which assumes that ref's dependencies are compatible with the installed ones (they are for
 * the default: issue 16 only added packages). Its hub then runs with the same publishers. remove()
 * deletes the symlink first, then the worktree (`git worktree remove --force`).
 * `RB_BENCH_BASELINE=off` leaves the baseline out.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log, type HubBuild } from './hub-common.js';

/** 9df1721: the last commit before 4578588 feat(hub/platform/db), the first of issue 16. */
export const DEFAULT_BASELINE_REF = '9df1721150db50efeb216ce1940492c6dba91a02';

export interface Baseline extends HubBuild { ref: string; commit: string; subject: string; remove(): void }

const REPO = fileURLToPath(new URL('..', import.meta.url));
const git = (args: string[], cwd = REPO): string => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

export function prepareBaseline(ref = process.env.RB_BENCH_BASELINE_REF || DEFAULT_BASELINE_REF): Baseline {
  const commit = git(['rev-parse', '--verify', `${ref}^{commit}`]);
  const subject = git(['log', '-1', '--format=%s', commit]);
  const dir = mkdtempSync(join(tmpdir(), 'rb-bench-baseline-'));
  log(`baseline: ${ref} (${commit.slice(0, 7)} ${subject}): worktree ${dir}, compiling…`);
  git(['worktree', 'add', '--detach', dir, commit]);
  const modules = join(dir, 'node_modules');
  const remove = (): void => {
    try {
      unlinkSync(modules);
    } catch {
      // not made yet
    }
    try {
      git(['worktree', 'remove', '--force', dir]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    symlinkSync(realpathSync(join(REPO, 'node_modules')), modules, 'dir');
    execFileSync(process.execPath, [join(modules, 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    remove();
    throw err;
  }
  return { label: 'baseline', cli: join(dir, 'bin', 'red-butler.js'), ref, commit, subject, remove };
}
