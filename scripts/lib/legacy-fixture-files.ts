import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The legacy fixture on disk (scripts/make-legacy-fixture.ts): every SQLite file checkpointed and its
 * tables counted, the folder listed, the commit it was made from, and the README.md written from its manifest.
 */

/** Checkpoint every `*.db` of `dir` (no -wal/-shm left) and count the rows of each of its tables. */
export function checkpointAndCount(dir: string): Record<string, Record<string, number>> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.db'));
  const tables: Record<string, Record<string, number>> = {};
  for (const f of files) {
    const db = new Database(join(dir, f));
    db.pragma('wal_checkpoint(TRUNCATE)');
    tables[f] = {};
    for (const { name } of db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all()) {
      tables[f][name] = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM "${name.replaceAll('"', '""')}"`).get()!.n;
    }
    db.close();
  }
  return tables;
}

/** The commit checked out in `root` ('unknown' outside git). */
export function gitCommit(root: string): Promise<string> {
  return git(root, ['rev-parse', 'HEAD']);
}

function git(root: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const proc = spawn('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('close', () => resolve(out.trim() || 'unknown'));
    proc.on('error', () => resolve('unknown'));
  });
}

/** Every file under `dir`, sorted. */
export function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]))
    .sort();
}

/** What README.md reads of the manifest (fixture.json). */
export type Manifest = {
  users: Array<{ id: string | undefined; name: string; role: string; scope: string; password: string; disabled: boolean }>;
  gateways: Array<{ estate: string; gateway: string; revoked: boolean; devices: string[] }>;
  alerts: { acknowledgedOpen: { id: string }; resolved: { id: string } };
  handover: { id: string };
  counts: Record<string, number | undefined>;
  tables: Record<string, Record<string, number>>;
  files: Array<{ file: string; bytes: number }>;
  madeAt: string;
  commit: string;
  rosterException: { id: string };
  apiToken: string;
};

/** README.md of the fixture: what is in it, for people and for the upgrade tests. */
export function readme(m: Manifest, total: number): string {
  const md: string[] = [];
  md.push(
    '# A hub data dir written by the release before one hub database (issue 16)',
    '',
    `Made ${m.madeAt} by \`scripts/make-legacy-fixture.ts\` with the code of commit ${m.commit.slice(0, 7)}, the release`,
    'whose stores still live in their own SQLite files: registry.db, people.db (+ jwt.key), alerts.db, push.db,',
    'dedup.db, snapshots.db (+ snapshots/), events.db (the embedded event store); its hub.db holds only the audit',
    'log and the dead letters (migrations 0001_audit, 0002_dead_letters). The admin CLI and a real hub, real gateways (in process, in front of the',
    'access-gate and ONVIF camera simulators), REST and Socket.IO were used as a user would; the hub was stopped',
    'cleanly and every SQLite file checkpointed (no `-wal`/`-shm`). `fixture.json` holds everything below as',
    'data (ids, passwords, counts, the API answers of that release) for the upgrade tests to assert',
    '"the same afterwards".',
    '',
    'Regenerate (ids, times and gateway passwords change; update tests that pin them):',
    '',
    '    npm run -s build && npx tsx scripts/make-legacy-fixture.ts',
    '',
    `The hub ran with \`RB_API_TOKEN=${m.apiToken}\` (not stored in the data dir) and time zone Asia/Shanghai.`,
    '',
    '## Places',
    '',
    '- street `xingfu` 幸福街道; grid `grid-1` 第一网格 (street xingfu)',
    '- estate `maple` 枫林苑 (grid-1, street xingfu); estate `osmanthus` 桂花园 (street xingfu, no grid)',
    '',
    '## Gateways',
    '',
  );
  for (const g of m.gateways) md.push(`- \`${g.estate}/${g.gateway}\`${g.revoked ? ' **revoked** (by `hub gateway revoke`, after it ran)' : ' active'}; devices seen: ${g.devices.join(', ')}`);
  md.push('', '## Users (name / password)', '', '| id | name | role | scope | password | |', '|---|---|---|---|---|---|');
  for (const u of m.users) md.push(`| ${u.id} | ${u.name} | ${u.role} | ${u.scope} | ${u.password} | ${u.disabled ? 'disabled' : ''}${u.name === 'patrol-chen' ? 'password changed by `hub user passwd`' : ''} |`);
  md.push(
    '',
    '## Alerts',
    '',
    `- \`${m.alerts.acknowledgedOpen.id}\`: door.forced at maple/gate-east (东门), acknowledged by vol-li with the note "到场查看，门锁坏了", commented by center-liu, left open (door still open); one camera snapshot linked (file under \`snapshots/\`).`,
    `- \`${m.alerts.resolved.id}\`: door.forced at maple/door-north (北门), acknowledged, door closed, resolved by vol-li with the note "门已关好，锁已检查".`,
    '- maple\'s alert settings changed by center-liu (escalation 3/10/20 min, renotify 5 min, clearAfterS 120).',
    '',
    '## Roster and hand-over',
    '',
    `- shifts: vol-li at maple every day 00:00–24:00 (7), vol-zhao at osmanthus Mon–Fri 18:00–23:00 (5)`,
    `- exception \`${m.rosterException.id}\`: vol-zhao off at osmanthus 2027-01-01 to 2027-01-04 (Asia/Shanghai)`,
    `- hand-over \`${m.handover.id}\` by vol-li at maple: "东门锁坏了，已报修；北门正常"`,
    '',
    '## Counts',
    '',
    ...Object.entries(m.counts).map(([k, v]) => `- ${k}: ${v}`),
    '',
    'Rows per table:',
    '',
    ...Object.entries(m.tables).map(([f, t]) => `- \`${f}\`: ${Object.entries(t).map(([n, c]) => `${n} ${c}`).join(', ')}`),
    '',
    `## Files (${total} bytes)`,
    '',
    ...m.files.map((f) => `- \`${f.file}\` ${f.bytes}`),
    '',
    '## Notes for upgrade tests',
    '',
    '- `test/hub/platform/legacy-fixture.test.ts` starts a hub on a copy and checks it against `fixture.json` (the',
    '  API answers of that release): keep it passing as the stores move into `hub.db`.',
    '- This release keeps device names (from the gateways\' statuses) in memory only: after a restart an alert',
    '  shows its device id until the gateway reports again, so `deviceName` is not in the stored data.',
    '- Time-bound rows age: push-log rows are pruned after 7 days and refresh tokens expire 30 days after',
    '  `madeAt`; assert what an import copied, not what survives a prune. `jwt.key` is the hub\'s signing key.',
    '- The gateway passwords in `fixture.json` are those the CLI printed (the registry stores only their hashes).',
    '',
    'The previous fixture here (an `audit.db` of the release before the hub database, commit 9df1721) is now',
    '`test/fixtures/legacy-audit-db/`.',
    '',
  );
  return md.join('\n');
}
