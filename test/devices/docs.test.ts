import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderDeviceDocs } from '../../scripts/gen-device-docs.js';
import { driverRegistry } from '../../devices/registry.js';

describe('docs/devices.md', () => {
  it('is generated from the current driver registry (run npx tsx scripts/gen-device-docs.ts)', () => {
    const current = readFileSync(new URL('../../docs/devices.md', import.meta.url), 'utf8');
    expect(current).toBe(renderDeviceDocs());
    for (const name of driverRegistry.keys()) expect(current).toContain(`## \`${name}\``);
  });
});
