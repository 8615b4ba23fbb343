import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS as HUB_ERRORS, RbError } from '../../hub/errors.js';
import { COMMAND_ERRORS } from '../../protocol/commands.js';
import { ERRORS } from '../../protocol/errors.js';

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'node_modules' && name !== 'i18n') yield* sources(path);
    } else if (/\.tsx?$/.test(name)) yield path;
  }
}

describe('one catalogue of error codes (protocol/errors.ts)', () => {
  it('names every RB_ERR_ code the hub, gateway, drivers, config and screens produce', () => {
    const missing = new Set<string>();
    for (const dir of ['hub', 'gateway', 'devices', 'lib', 'protocol', 'web/src', 'cli']) {
      for (const file of sources(dir)) {
        for (const [code] of readFileSync(file, 'utf8').matchAll(/RB_ERR_[A-Z_]+[A-Z]/g)) if (!Object.hasOwn(ERRORS, code)) missing.add(`${code} (${file})`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it('covers every command result code, and the hub answers HTTP with the catalogue', () => {
    for (const code of Object.keys(COMMAND_ERRORS)) expect(ERRORS).toHaveProperty(code);
    expect(HUB_ERRORS).toBe(ERRORS);
    expect(new RbError('RB_ERR_UNKNOWN_DEVICE', 'x').status).toBe(404);
    for (const [code, e] of Object.entries(ERRORS)) if ('status' in e) expect(e.status, code).toBeGreaterThanOrEqual(400);
  });
});
