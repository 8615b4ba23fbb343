import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { qrOf } from './qr.js';

const dir = mkdtempSync(join(tmpdir(), 'rb-poster-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('red-butler hub poster', () => {
  it('writes the poster of a registered estate (its QR code decodes to the link); refuses an unknown estate', async () => {
    const add = await runCli(['hub', 'estate', 'add', '--estate', 'estate-a', '--name', '枫林苑', '--data-dir', dir]);
    expect(add.code, add.stderr).toBe(0);
    const env = { RB_NOTIFY_PUBLIC_URL: 'https://rb.example.gov.cn' };
    const png = await runCli(['hub', 'poster', '--estate', 'estate-a', '--out', join(dir, 'a.png'), '--data-dir', dir], { env });
    expect(png.code, png.stderr).toBe(0);
    expect(JSON.parse(png.stdout)).toMatchObject({ estate: 'estate-a', url: 'https://rb.example.gov.cn/r/estate-a' });
    expect(await qrOf(readFileSync(join(dir, 'a.png')))).toBe('https://rb.example.gov.cn/r/estate-a');
    const unknown = await runCli(['hub', 'poster', '--estate', 'estate-z', '--out', join(dir, 'z.png'), '--data-dir', dir], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('RB_ERR_NOT_FOUND: no estate estate-z');
  });
});
