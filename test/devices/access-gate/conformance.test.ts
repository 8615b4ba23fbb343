import { isapiDriverFactory } from '../../../devices/access-gate/isapi-driver.js';
import { DOOR_CMDS } from '../../../devices/access-gate/isapi-commands.js';
import type { AccessGateCommand } from '../../../devices/access-gate/profile.js';
import { createAccessGateSimulator, SIM_KINDS, type SimKind } from '../../../devices/access-gate/simulator.js';
import { zktecoDriverFactory } from '../../../devices/access-gate/zkteco-driver.js';
import { createZktecoSimulator, ZK_SIM_KINDS, type ZkSimKind } from '../../../devices/access-gate/zkteco-simulator.js';
import { silentLogger } from '../../../lib/log.js';
import type { CommandName, EventType } from '../../../protocol/index.js';
import { describeDriver, expectTaken, heartbeats } from '../conformance.js';

/** First simulator kind that becomes `type`. */
function kindFor<K extends string>(kinds: Readonly<Record<K, { type: EventType }>>, type: EventType): K {
  const kind = (Object.keys(kinds) as K[]).find((k) => kinds[k].type === type);
  if (kind === undefined) throw new Error(`the simulator cannot produce ${type}`);
  return kind;
}

/**
 * Hikvision ISAPI: events and heartbeats are pushes from the simulator; commands go to its own
 * Digest-protected device server. Offline = no more heartbeats, so `offlineAfterMs` runs out.
 */
describeDriver('hikvision-isapi', {
  factory: isapiDriverFactory,
  fastOptions: { offlineAfterMs: 300, commandTimeoutMs: 3_000 },
  waitMs: 3_000,
  async setup({ deviceId, pushBase }) {
    const sim = createAccessGateSimulator({ target: `${pushBase}/isapi/${deviceId}`, deviceName: deviceId, log: silentLogger() });
    const address = await sim.listen({ username: 'admin', password: 'conf-pass-1', pushOnOpen: false });
    const beats = heartbeats(() => sim.heartbeat());
    await beats.goOnline();
    return {
      options: { address, username: 'admin', password: 'conf-pass-1' },
      produce: async (type) => expectTaken(await sim.send(kindFor<SimKind>(SIM_KINDS, type), { format: 'json' })),
      executed: (name: CommandName) => sim.executions().filter((e) => e.cmd === DOOR_CMDS[name as AccessGateCommand]).length,
      goOffline: beats.goOffline,
      goOnline: beats.goOnline,
      async sendGarbage() {
        await sim.sendRaw('{"eventType": "AccessControllerEvent", "AccessControllerEvent": [', 'application/json');
        await sim.sendRaw(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 'application/octet-stream');
      },
      async teardown() {
        beats.stop();
        await sim.close();
        sim.stop();
      },
    };
  },
});

/**
 * ZKTeco ADMS: the simulated device polls the gateway (handshake, getrequest every 50 ms) and posts
 * rtlog records; commands ride on its polls. Offline = it stops polling.
 */
describeDriver('zkteco-adms', {
  factory: zktecoDriverFactory,
  fastOptions: { offlineAfterMs: 300, commandTimeoutMs: 3_000 },
  waitMs: 3_000,
  async setup({ pushBase }) {
    const serialNumber = 'CONF0000001';
    const sim = createZktecoSimulator({ serverUrl: pushBase, serialNumber, pollMs: 50, log: silentLogger() });
    sim.start();
    return {
      options: { serialNumber },
      produce: async (type) => expectTaken(await sim.send(kindFor<ZkSimKind>(ZK_SIM_KINDS, type))),
      executed: (name) => sim.executions().filter((e) => e.name === name).length,
      goOffline: async () => sim.pause(),
      goOnline: async () => sim.resume(),
      async sendGarbage() {
        await sim.sendRaw('POST', `/iclock/cdata?SN=${serialNumber}&table=rtlog&Stamp=9999`, 'this is\tnot=an\x00rtlog record');
        await sim.sendRaw('POST', `/iclock/devicecmd?SN=${serialNumber}`, '\u00ff\u00fe garbage');
      },
      teardown: () => sim.stop(),
    };
  },
});
