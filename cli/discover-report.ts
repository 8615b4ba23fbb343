import { Document, isMap, isSeq } from 'yaml';
import type { CheckedCamera, CredentialCheck } from './discover-check.js';

/**
 * The three forms of `red-butler discover` output: a table for people (zh-CN labels first, English
 * beside them, as the rest of the CLI names things), JSON for scripts, and a `devices:` block for
 * the gateway YAML. None of them carries a password.
 */

/** Stands where the camera password goes in the printed YAML: the gateway would try it, and fail. */
export const PASSWORD_PLACEHOLDER = '<camera password>';
export const USERNAME_PLACEHOLDER = '<ONVIF user>';

/** Clocks further apart than this make event times wrong enough to mention. */
const CLOCK_WARN_MS = 5_000;

const CREDENTIALS: Readonly<Record<CredentialCheck, string>> = {
  ok: 'ok',
  refused: 'refused: wrong user or password',
  'not-checked': 'not checked: no --username',
  unreachable: 'unreachable',
  error: 'error',
};

export function credentialText(c: CheckedCamera): string {
  return c.error ? `${CREDENTIALS[c.credentials]}: ${c.error}` : CREDENTIALS[c.credentials];
}

/** Terminal columns of a string: CJK and full-width characters take two. */
function width(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(ch) ? 2 : 1;
  return w;
}
const pad = (s: string, w: number): string => s + ' '.repeat(Math.max(0, w - width(s)));

/** Cameras report whole seconds, so an offset under 1.5 s is not measured: shown as 0. */
function clock(ms: number | undefined): string {
  if (ms === undefined) return '?';
  if (Math.abs(ms) < 1_500) return '0 s';
  const s = Math.round(ms / 1000);
  return `${s < 0 ? '-' : '+'}${Math.abs(s)} s`;
}

export function table(cams: readonly CheckedCamera[]): string {
  const head = ['地址 address', '厂商 make', '型号 model', '固件 firmware', '序列号 serial', '时钟 clock', '凭据 credentials'];
  const rows = cams.map((c) => [c.address, c.info?.manufacturer ?? '?', c.info?.model ?? '?', c.info?.firmware ?? '?', c.info?.serial ?? '?', clock(c.clockOffsetMs), credentialText(c)]);
  const widths = head.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] as string))));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === cells.length - 1 ? cell : pad(cell, widths[i] as number))).join('  ');
  const out = [line(head), ...rows.map(line)];
  const notes: string[] = [];
  const untold = cams.filter((c) => c.info === undefined && c.credentials !== 'unreachable');
  if (untold.length > 0) {
    const hint = untold.some((c) => c.credentials === 'not-checked') ? ' (give --username and --password)' : '';
    notes.push(`? 未知 unknown: the camera tells its make and model only to a user it accepts${hint}`);
  }
  for (const c of cams) {
    if (c.clockOffsetMs !== undefined && Math.abs(c.clockOffsetMs) > CLOCK_WARN_MS) {
      notes.push(`${c.address}: 时钟偏差 the camera clock is off by ${clock(c.clockOffsetMs)}; the gateway copes, but set NTP on the camera`);
    }
  }
  return [...out, ...(notes.length ? ['', ...notes] : [])].join('\n') + '\n';
}

export function json(cams: readonly CheckedCamera[], subnets: readonly string[]): string {
  return `${JSON.stringify({ subnets, cameras: cams }, null, 2)}\n`;
}

/** A device id ([a-z0-9-]{1,64}) from the camera's address, stable across runs: cam-192-168-1-64. */
function deviceIds(cams: readonly CheckedCamera[]): string[] {
  const used = new Set<string>();
  return cams.map((c) => {
    const u = new URL(c.address);
    const host = u.hostname.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
    let id = `cam-${host}`;
    if (used.has(id)) id = `${id}-${u.port || (u.protocol === 'https:' ? 443 : 80)}`;
    for (let n = 2; used.has(id); n++) id = `cam-${host}-${n}`;
    used.add(id);
    return id;
  });
}

/** The `devices:` entries for the gateway config (driver `onvif`), with comments saying what to fill in. */
export function gatewayYaml(cams: readonly CheckedCamera[], username: string | undefined): string {
  const ids = deviceIds(cams);
  const devices = cams.map((c, i) => {
    const name = c.name ?? ([c.info?.manufacturer, c.info?.model].filter(Boolean).join(' ') || undefined);
    return {
      id: ids[i],
      ...(name && { name: name.slice(0, 100) }),
      driver: 'onvif',
      options: { address: c.address, username: username ?? USERNAME_PLACEHOLDER, password: PASSWORD_PLACEHOLDER },
    };
  });
  const doc = new Document({ devices });
  doc.commentBefore = [
    ` red-butler discover: ${cams.length} camera(s). Put these entries under devices: in the gateway config.`,
    ` The password given to discover is never printed: replace each ${PASSWORD_PLACEHOLDER} with the camera's password.`,
    ...(username === undefined ? [` No --username was given: replace ${USERNAME_PLACEHOLDER} too.`] : []),
    ' Rename id and name as you like (the id is part of MQTT topics: choose it before the gateway runs).',
  ].join('\n');
  const seq = doc.get('devices', true);
  if (isSeq(seq)) {
    seq.items.forEach((item, i) => {
      const c = cams[i] as CheckedCamera;
      const what = [c.info?.manufacturer, c.info?.model, c.info?.firmware && `firmware ${c.info.firmware}`, c.info?.serial && `serial ${c.info.serial}`].filter(Boolean).join(', ');
      if (isMap(item)) item.commentBefore = ` ${what || 'make and model unknown'}; credentials: ${credentialText(c)}`;
    });
  }
  return doc.toString({ lineWidth: 0 });
}
