import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { startTestHub } from '../../support/hub.js';

/** `red-butler hub user|grid|estate ...`, the built CLI as users run it, and its tokens against a real hub. */

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rb-people-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ok = async (args: string[]) => {
  const r = await runCli(['hub', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};

describe('hub user / grid CLI', () => {
  it('grid add and estate add --grid; helpful errors name the problem', async () => {
    await ok(['street', 'add', '--data-dir', dir, '--street', 'east']);
    expect(await ok(['grid', 'add', '--data-dir', dir, '--grid', 'g1', '--street', 'east', '--name', 'Grid One'])).toEqual({ id: 'g1', street: 'east', name: 'Grid One' });
    expect(await ok(['estate', 'add', '--data-dir', dir, '--estate', 'maple', '--grid', 'g1'])).toEqual({ id: 'maple', street: 'east', grid: 'g1', name: null });
    const unknown = await runCli(['hub', 'estate', 'add', '--data-dir', dir, '--estate', 'elm', '--grid', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/RB_ERR_UNKNOWN_GRID: no grid nope.*hub grid add/);
    const help = await runCli(['hub', 'grid', 'add', '--help']);
    expect(help.stdout).toContain('--street <id>');
  });

  it('user add prints {id, token} on one line; the token works at a hub on the same data dir; list, passwd, disable', async () => {
    const r = await runCli(['hub', 'user', 'add', '--data-dir', dir, '--name', 'vera', '--role', 'volunteer', '--scope', 'estate:maple', '--scope', 'grid:g9', '--password', 'vera-password', '--ttl', '12h']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const added = JSON.parse(r.stdout) as { id: string; token: string };
    expect(added).toEqual({ id: expect.stringMatching(/^[0-9A-Z]{26}$/), token: expect.any(String) });
    expect(r.stderr).toContain('--scope grid:g9 covers no estate');
    const claims = JSON.parse(Buffer.from(added.token.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number };
    expect(claims.exp - claims.iat).toBe(12 * 3600);
    // The signing key lives in the hub database, which the hub below shares: no key file beside it.
    expect(existsSync(join(dir, 'jwt.key'))).toBe(false);

    const hub = await startTestHub({ dataDir: dir });
    try {
      expect(await hub.api('GET', '/api/v1/me', { token: added.token })).toMatchObject({ status: 200, json: { user: { name: 'vera' }, estates: [{ id: 'maple', grid: 'g1' }] } });
      // passwd from the CLI while the hub runs: the old token is refused at once.
      expect(await ok(['user', 'passwd', '--data-dir', dir, '--name', 'vera', '--password', 'new-password'])).toMatchObject({ name: 'vera' });
      expect((await hub.api('GET', '/api/v1/me', { token: added.token })).status).toBe(401);
      const login = await hub.api('POST', '/api/v1/auth/login', { token: null, body: { name: 'vera', password: 'new-password' } });
      expect(login.status).toBe(200);
      expect(await ok(['user', 'disable', '--data-dir', dir, '--name', 'vera'])).toMatchObject({ disabled: true });
      expect((await hub.api('GET', '/api/v1/me', { token: login.json.token as string })).status).toBe(401);
      const audit = await hub.api('GET', '/api/v1/audit?actor=cli');
      expect((audit.json.items as Array<{ action: string }>).map((e) => e.action)).toEqual(['user.disable', 'user.passwd', 'user.add']);
    } finally {
      await hub.stop();
    }
    const list = (await runCli(['hub', 'user', 'list', '--data-dir', dir])).stdout;
    expect(JSON.parse(list)).toMatchObject([{ name: 'vera', role: 'volunteer', disabled: true }]);
    expect(list).not.toContain('scrypt');
  }, 60_000);

  it('refuses bad options naming them', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--role', 'king', '--scope', 'estate:a'], /--role.*king.*volunteer/s],
      [['--role', 'volunteer', '--scope', 'estate:A!'], /--scope "estate:A!" must be/],
      [['--role', 'volunteer'], /--scope/],
      [['--role', 'volunteer', '--scope', 'estate:a', '--ttl', 'forever'], /--ttl "forever" is not a duration/],
      [['--role', 'volunteer', '--scope', 'estate:a', '--password', 'short'], /RB_ERR_BAD_BODY: password: a password has at least 8 characters/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['hub', 'user', 'add', '--data-dir', dir, '--name', 'x', ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
    const dup = await runCli(['hub', 'user', 'add', '--data-dir', dir, '--name', 'vera', '--role', 'volunteer', '--scope', 'estate:maple']);
    expect(dup.stderr).toMatch(/RB_ERR_CONFLICT: a user named vera exists already/);
    const missing = await runCli(['hub', 'user', 'disable', '--data-dir', dir, '--name', 'ghost']);
    expect(missing.stderr).toMatch(/RB_ERR_UNKNOWN_USER: --name: no user "ghost"/);
    expect((await runCli(['hub', 'user', 'add', '--help'])).stdout).toMatch(/--scope <scope>[\s\S]*--ttl <duration>/);
  }, 60_000);
});
