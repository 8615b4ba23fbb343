import { clientIdFor } from '../../protocol/index.js';
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { ulid } from 'ulid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayCredentials } from '../../hub/registry.js';
import { Command, topics, validateEvent, type CommandResult, type RbEvent } from '../../protocol/index.js';
import { makeEvent, startTestHub, type TestHub } from '../support/hub.js';

/**
 * Third-party client interop: the Debian mosquitto-clients tools (libmosquitto) against the hub's
 * broker. A machine without them FAILS these tests (it must not report green having tested nothing).
 */

const EXAMPLE = new URL('../../protocol/examples/door.forced.json', import.meta.url);
const E = 'estate-a';
const RUN_TIMEOUT_MS = 6_000;

function binary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  throw new Error(`${name} (Debian package mosquitto-clients) is not installed or not on PATH: run scripts/ensure-deps.sh`);
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a client asynchronously: the hub lives in this process, so a sync spawn would deadlock it. */
function run(bin: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(bin, args, { encoding: 'utf8', timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
      resolve({
        code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
        signal: e?.signal ?? null,
        stdout,
        stderr,
      });
    });
  });
}

function connArgs(t: TestHub, c: GatewayCredentials): string[] {
  return ['-h', '127.0.0.1', '-p', String(t.mqttPort), '-u', c.username, '-P', c.password, '-i', clientIdFor(c.estate, c.gateway)];
}

/**
 * The protocol's door.forced example rewritten for this gateway/device with a fresh id; built here
 * when protocol/examples has no such file (yet).
 */
async function exampleEvent(c: GatewayCredentials, device: string): Promise<RbEvent> {
  const over = { id: ulid(), estate: c.estate, gateway: c.gateway, device };
  if (!existsSync(EXAMPLE)) {
    return makeEvent({ ...over, data: { door: 1, source: { vendor: 'hikvision-isapi', major: 5, minor: 0x1b, serial: 1205 } } });
  }
  const example = JSON.parse(await readFile(EXAMPLE, 'utf8')) as Record<string, unknown>;
  const checked = validateEvent({ ...example, ...over });
  if (!checked.ok) throw new Error(`protocol/examples/door.forced.json is not a valid event: ${checked.message}`);
  return checked.event;
}

let t: TestHub;
let gw1: GatewayCredentials;
let gw2: GatewayCredentials;

beforeEach(async () => {
  t = await startTestHub();
  gw1 = await t.provision(E, 'gw-1');
  gw2 = await t.provision(E, 'gw-2');
});

afterEach(async () => {
  await t?.stop();
});

async function payloadFile(name: string, event: RbEvent): Promise<string> {
  const file = join(t.dataDir, name);
  await writeFile(file, JSON.stringify(event, null, 2));
  return file;
}

describe('mosquitto_pub', () => {
  it('publishes an event with QoS 1 that the hub stores', async () => {
    const pub = binary('mosquitto_pub');
    const event = await exampleEvent(gw1, 'gate-east');
    const file = await payloadFile('event.json', event);
    const r = await run(pub, [...connArgs(t, gw1), '-q', '1', '-t', topics.event(E, 'gw-1', 'gate-east'), '-f', file]);
    expect(r, r.stderr).toMatchObject({ code: 0, signal: null });
    // mosquitto_pub exits after PUBACK, and the hub acknowledges only stored events
    expect(await t.events()).toEqual([event]);
    expect(await t.metric('rb_messages_accepted_total')).toBe(1);
  }, 10_000);

  it("is cut off when it publishes on another gateway's topic; nothing is stored", async () => {
    const pub = binary('mosquitto_pub');
    // the example made out for gw-2 in every field, sent with gw-1's credentials: only the ACL stops it
    const forged = await exampleEvent(gw2, 'gate-east');
    const file = await payloadFile('forged.json', forged);
    const r = await run(pub, [...connArgs(t, gw1), '-q', '1', '-t', topics.event(E, 'gw-2', 'gate-east'), '-f', file]);
    expect(r.signal, 'mosquitto_pub hung instead of seeing the connection closed').toBeNull();
    expect(r.code, r.stderr).not.toBe(0);
    expect(await t.metric('rb_messages_rejected_total', { reason: 'acl' })).toBe(1);
    expect(await t.events()).toEqual([]);

    // gw-1 on its own topic is still welcome
    const own = await exampleEvent(gw1, 'gate-east');
    const ownFile = await payloadFile('own.json', own);
    const ok = await run(pub, [...connArgs(t, gw1), '-q', '1', '-t', topics.event(E, 'gw-1', 'gate-east'), '-f', ownFile]);
    expect(ok, ok.stderr).toMatchObject({ code: 0, signal: null });
    expect(await t.events()).toEqual([own]);
  }, 10_000);
});

describe('mosquitto_sub', () => {
  it("is refused '#' and granted the gateway's own command topics", async () => {
    const sub = binary('mosquitto_sub');
    // -E: exit as soon as the SUBACK arrives
    const all = await run(sub, [...connArgs(t, gw1), '-q', '1', '-E', '-t', '#']);
    expect(all.signal, 'mosquitto_sub did not exit after its SUBACK').toBeNull();
    expect(all.stderr).toMatch(/subscription requests were denied/i);
    expect(await t.metric('rb_mqtt_subscribe_denied_total')).toBe(1);

    const other = await run(sub, [...connArgs(t, gw1), '-q', '1', '-E', '-t', topics.gatewayCommands(E, 'gw-2')]);
    expect(other.stderr).toMatch(/subscription requests were denied/i);
    expect(await t.metric('rb_mqtt_subscribe_denied_total')).toBe(2);

    const own = await run(sub, [...connArgs(t, gw1), '-q', '1', '-E', '-t', topics.gatewayCommands(E, 'gw-1')]);
    expect(own, own.stderr).toMatchObject({ code: 0, signal: null });
    expect(own.stderr).not.toMatch(/denied/i);
    expect(await t.metric('rb_mqtt_subscribe_denied_total')).toBe(2);
  }, 10_000);

  it('receives a command the hub sends while it was away (persistent session) and mosquitto_pub returns its result', async () => {
    const sub = binary('mosquitto_sub');
    const pub = binary('mosquitto_pub');
    const filter = topics.gatewayCommands(E, 'gw-1');
    // 1. subscribe with a persistent session (-c) and leave: the broker keeps the subscription
    const first = await run(sub, [...connArgs(t, gw1), '-c', '-q', '1', '-E', '-t', filter]);
    expect(first, first.stderr).toMatchObject({ code: 0, signal: null });

    // 2. the hub sends a command to the offline gateway and waits for its result
    const now = Date.now();
    const command = Command.parse({
      v: 1,
      id: ulid(now),
      device: 'gate-1',
      name: 'door.open',
      args: { door: 1 },
      issuedAt: now,
      expiresAt: now + 30_000,
      actor: { id: 'volunteer-7', role: 'volunteer' },
    });
    const answered = t.hub.commands.publish(E, 'gw-1', command, 8_000);
    answered.catch(() => {}); // awaited below; do not let an early rejection go unhandled

    // 3. the gateway comes back and gets exactly that command on its device's cmd topic
    const second = await run(sub, [...connArgs(t, gw1), '-c', '-q', '1', '-C', '1', '-v', '-W', '5', '-t', filter]);
    expect(second, second.stderr).toMatchObject({ code: 0, signal: null });
    const line = second.stdout.trim();
    const topic = topics.cmd(E, 'gw-1', 'gate-1');
    expect(line.startsWith(`${topic} `), line).toBe(true);
    expect(JSON.parse(line.slice(topic.length + 1))).toEqual(command);

    // 4. the result, published by mosquitto_pub on cmd/result, completes the hub's wait
    const result: CommandResult = { v: 1, id: command.id, device: 'gate-1', status: 'ok', ts: Date.now() };
    const r = await run(pub, [...connArgs(t, gw1), '-q', '1', '-t', topics.cmdResult(E, 'gw-1', 'gate-1'), '-m', JSON.stringify(result)]);
    expect(r, r.stderr).toMatchObject({ code: 0, signal: null });
    expect(await answered).toEqual(result);
  }, 10_000);
});
