import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The import boundaries of eslint.config.js (issue 16 item 9; STYLE.md 1-2): each rule fires on a
 * deliberate violation placed in its area, and the real tree has none.
 */
const RULE = '@typescript-eslint/no-restricted-imports';
const eslint = new ESLint({ cwd: process.cwd() });

async function fired(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('import boundaries', () => {
  const violations: Array<[string, string, string]> = [
    ['protocol imports hub', 'protocol/x.ts', "import { RbError } from '../hub/errors.js';\nexport const e = RbError;\n"],
    ['protocol imports lib', 'protocol/x.ts', "import { localTime } from '../lib/zoned.js';\nexport const f = localTime;\n"],
    ['devices import gateway', 'devices/access-gate/x.ts', "import { createUplink } from '../../gateway/uplink.js';\nexport const u = createUplink;\n"],
    ['devices import hub', 'devices/x.ts', "import type { Bus } from '../hub/bus.js';\nexport type B = Bus;\n"],
    ['hub imports gateway', 'hub/alerts/x.ts', "import { createUplink } from '../../gateway/uplink.js';\nexport const u = createUplink;\n"],
    ['hub outside platform/db imports better-sqlite3', 'hub/alerts/x.ts', "import Database from 'better-sqlite3';\nexport const d = Database;\n"],
    ['hub outside platform/db imports pg', 'hub/store/x.ts', "import pg from 'pg';\nexport const p = pg;\n"],
    ['hub/platform/db imports gateway', 'hub/platform/db/x.ts', "import { createUplink } from '../../../gateway/uplink.js';\nexport const u = createUplink;\n"],
    ['gateway imports hub', 'gateway/x.ts', "import { ERRORS } from '../hub/errors.js';\nexport const e = ERRORS;\n"],
    ['web takes a value from protocol', 'web/src/x.ts', "import { ROLES } from '../../protocol/api.js';\nexport const r = ROLES;\n"],
    ['web imports hub', 'web/src/views/x.tsx', "import type { Bus } from '../../../hub/bus.js';\nexport type B = Bus;\n"],
    ['web imports lib', 'web/src/x.ts', "import { localTime } from '../../lib/zoned.js';\nexport const f = localTime;\n"],
  ];
  for (const [name, filePath, code] of violations) {
    it(`fires: ${name}`, async () => {
      expect(await fired(filePath, code)).toHaveLength(1);
    });
  }

  it('lets the allowed arrows through', async () => {
    expect(await fired('web/src/x.ts', "import type { Alert } from '../../protocol/api.js';\nexport type A = Alert;\n")).toEqual([]);
    expect(await fired('web/src/x.ts', "export type { Alert } from '../../protocol/api.js';\n")).toEqual([]);
    expect(await fired('hub/x.ts', "import { isId } from '../protocol/index.js';\nexport const i = isId;\n")).toEqual([]);
    expect(await fired('hub/platform/db/x.ts', "import Database from 'better-sqlite3';\nexport const d = Database;\n")).toEqual([]);
    expect(await fired('gateway/x.ts', "import { isId } from '../protocol/index.js';\nexport const i = isId;\n")).toEqual([]);
    expect(await fired('devices/x/y.ts', "import { isId } from '../../protocol/index.js';\nexport const i = isId;\n")).toEqual([]);
    expect(await fired('protocol/x.ts', "import { Id } from './ids.js';\nexport const i = Id;\n")).toEqual([]);
  });

  it('the real tree keeps every boundary', async () => {
    const results = await eslint.lintFiles(['protocol', 'devices', 'hub', 'gateway', 'web/src']);
    const hits = results.flatMap((r) => r.messages.filter((m) => m.ruleId === RULE).map((m) => `${r.filePath}:${m.line} ${m.message}`));
    expect(hits).toEqual([]);
  }, 120_000);
});
