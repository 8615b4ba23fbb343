import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigDocs } from '../../scripts/gen-config-docs.js';

describe('docs/configuration.md', () => {
  it('is generated from the current hub and gateway config schemas (run npx tsx scripts/gen-config-docs.ts)', () => {
    const current = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(current).toBe(renderConfigDocs());
    for (const key of ['`mqtt.maxPacketBytes`', '`influx.rawRetention`', '`RB_MQTT_PUBLISH_RATE`', '`RB_TLS_CERT`', '`outbox.maxRecords`', '`hub.httpUrl`']) expect(current).toContain(key);
  });
});
