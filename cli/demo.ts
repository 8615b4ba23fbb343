import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { Hub } from '../hub/hub-types.js';
import { createLogger } from '../lib/log.js';
import { DEMO_USERS, ESTATES } from './demo-street.js';
import { fileResidentReport, seedDemoOrders } from './demo-orders.js';
import { demoSecret, planStreet, seedStreet, startGateways, startSimulator, stopChild } from './demo-setup.js';
import { exitOnConfigError, intOption, numberOption, logLevelOption } from './util.js';

export { DEMO_USERS };

export interface DemoOptions {
  httpPort?: number;
  mqttPort?: number;
  pushPort: number;
  dataDir: string;
  rate: number;
  incidentPeriod: number;
  cluster?: boolean;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      '演示 run a street of two estates on this machine: hub, one gateway per estate, simulated access gates, ZKTeco controller, barriers and camera ' +
        '(each can be opened from the screens), calm traffic and a round of incidents that raises every kind of alert; embedded storage. ' +
        '--cluster: the same street on a hub cluster started from Debian binaries (PostgreSQL 15, redis-server, HAProxy, two hub nodes)',
    )
    .option('--http-port <port>', 'hub HTTP port (env RB_HTTP_PORT, default 8080); with --cluster: HAProxy\'s HTTP port', intOption('--http-port'))
    .option('--mqtt-port <port>', 'hub MQTT port (env RB_MQTT_PORT, default 1883); with --cluster: HAProxy\'s MQTT port', intOption('--mqtt-port'))
    .option(
      '--cluster',
      '集群演示 cluster demo: PostgreSQL 15 (initdb in a temp dir), redis-server, HAProxy and two hub nodes from the Debian packages, gateways through HAProxy; ' +
        'prints each node\'s /readyz and how to watch a failover (kill one hub\'s PID); Ctrl+C stops every process it started',
    )
    .option('--push-port <port>', "first gateway's device push port (the second estate's gateway takes the next one)", intOption('--push-port'), 8091)
    .option('--data-dir <dir>', 'demo data folder (env RB_DATA_DIR)', process.env.RB_DATA_DIR ?? '.rb-demo')
    .addOption(logLevelOption())
    .option('--rate <n>', 'simulated device events per second (calm background traffic)', numberOption('--rate'), 3)
    .option('--incident-period <seconds>', 'one round of incidents (every kind of alert once) per this many seconds', numberOption('--incident-period'), 600)
    .action(async (opts: DemoOptions, cmd: Command) => {
      const level = (cmd.optsWithGlobals() as { logLevel?: string }).logLevel ?? 'warn';
      // Loaded when the command runs, not for --help.
      if (opts.cluster) return (await import('./demo-cluster.js')).runClusterDemo(opts, level);
      const { resolveHubConfig } = await import('../hub/config.js');
      const dataDir = resolve(opts.dataDir);
      let config;
      try {
        config = resolveHubConfig({
          dataDir,
          http: { port: opts.httpPort },
          mqtt: { port: opts.mqttPort },
          host: process.env.RB_HOST ?? '127.0.0.1',
          logLevel: level as 'warn',
          auth: { apiToken: process.env.RB_AUTH_API_TOKEN ?? process.env.RB_API_TOKEN ?? demoSecret(dataDir, 'demo-api-token') },
        });
      } catch (err) {
        exitOnConfigError(err);
      }
      // The devices first, while the hub loads and starts: on two cores that is a second or two off
      // the first alert. They wait for their gateway's listener before they send anything.
      const plan = await planStreet({ dataDir, pushPort: opts.pushPort });
      const simulator = startSimulator(plan, opts);
      let gateways: Promise<ChildProcess[]> = Promise.resolve([]);
      let hub: Hub | undefined = undefined;
      // Ctrl+C from now on stops what was started (the gateways may deliver events before the banner).
      let stopping = false;
      const stop = async (): Promise<void> => {
        if (stopping) return;
        stopping = true;
        process.stdout.write('demo: stopping…\n');
        // The gateways together (each may take its 5 s), then the simulated devices they were talking to.
        await Promise.all((await gateways).map((proc) => stopChild(proc)));
        await stopChild(simulator);
        await hub?.stop();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop());
      process.on('SIGTERM', () => void stop());

      const { createHub } = await import('../hub/main.js');
      const log = createLogger({ name: 'demo', level });
      hub = createHub({ config, log });
      let connectedCount = 0;
      const connected = new Promise<void>((r) =>
        hub!.bus.on('gateway.connection', (c) => {
          if (c.connected && ++connectedCount === ESTATES.length) r();
        }),
      );
      let files;
      try {
        await hub.start();
        files = await seedStreet(hub, plan, { dataDir, hubAccess: { mqttPort: hub.mqttAddress().port, httpPort: hub.httpAddress().port }, level });
      } catch (err) {
        await stopChild(simulator);
        await hub.stop();
        throw err;
      }
      if (stopping) return;
      gateways = startGateways(plan, files);
      await gateways;
      const { configs, credentials } = files;
      const mqtt = hub.mqttAddress();
      const http = hub.httpAddress();
      await Promise.race([connected, new Promise((r) => setTimeout(r, 15_000))]);

      const url = `http://127.0.0.1:${http.port}/`;
      process.stdout.write(
        [
          '',
          '红管家 Red Butler demo is running',
          `  screens:         ${url}  (log in as one of the people below)`,
          ...DEMO_USERS.map((u) => `    ${u.role.padEnd(9)} ${u.name.padEnd(10)} password ${u.password}`),
          `  command center:  ${url}estate/${ESTATES[0]!.id}   street overview: ${url}street`,
          `  events API:      ${url}api/v1/events?limit=20`,
          `  metrics:         ${url}metrics`,
          `  MQTT broker:     mqtt://127.0.0.1:${mqtt.port}`,
          `  gateway config:  ${configs.join(', ')}`,
          `  gateway credentials: ${credentials.map((c) => JSON.stringify(c)).join(' ')}`,
          `  API token (admin, scripts): ${config.auth.apiToken}`,
          `  incidents:       every kind of alert once per ${opts.incidentPeriod} s, starting now`,
          `  work orders:     2 imported 12345 orders, a phone call (来电登记), a resident's QR report now and one per ${opts.incidentPeriod} s; a patrol round (巡更) every hour in ${ESTATES[0]!.name}`,
          `  resident page:   ${url}r/${ESTATES[0]!.id}   (the estate's QR poster: ${url}api/v1/estates/${ESTATES[0]!.id}/poster.pdf)`,
          '  Ctrl+C stops everything.',
          '',
        ].join('\n'),
      );
      // Work orders (工单): 12345 orders imported and a call to the estate line, through the hub's routes.
      await seedDemoOrders(`http://127.0.0.1:${http.port}`, config.auth.apiToken!).catch((err: unknown) => process.stderr.write(`demo: work orders not seeded: ${(err as Error).message}\n`));
      // Residents report through the QR page: one now, then one per incident period.
      let reports = 0;
      const report = (): void =>
        void fileResidentReport(`http://127.0.0.1:${http.port}`, reports++).catch((err: unknown) => process.stderr.write(`demo: resident report not filed: ${(err as Error).message}\n`));
      report();
      const reporting = setInterval(report, opts.incidentPeriod * 1000);
      reporting.unref();

    });
}
