import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { HubConfig } from '../hub/config.js';
import { RbError } from '../hub/errors.js';
import type { Registry } from '../hub/registry.js';
import type { Audit } from '../hub/audit.js';
import type { HubDatabase } from '../hub/platform/db/index.js';
import type { People } from '../hub/people/index.js';
import { ROLES, Scope } from '../hub/people/scopes.js';
import { parseDuration } from '../lib/duration.js';
import type { User } from '../hub/people/users.js';
import { registerPosterCommand } from './hub-poster.js';
import { exitOnConfigError, intOption, rootLogger, runUntilSignal, logLevelOption } from './util.js';

// The hub's modules take about a second to load: each command loads what it uses when it runs, so
// `red-butler --help` and a mistyped option answer at once.
const configModule = () => import('../hub/config.js');
const dbModule = () => import('../hub/platform/db/index.js');

type HubRunOptions = { config?: string; checkConfig?: string; httpPort?: number; mqttPort?: number; dataDir?: string; host?: string; influxUrl?: string; dbUrl?: string; redisUrl?: string; nodeId?: string };

export function registerHubCommands(program: Command): void {
  const hub = program
    .command('hub')
    .description('run the hub: MQTT broker for gateways, event store, REST API, live push and pages')
    .enablePositionalOptions()
    .option('--config <file>', 'hub config file (YAML, keys in docs/configuration.md); defaults < file < env RB_* < flags')
    .option('--check-config <file>', 'validate a hub config file (with the environment), print every error with its key path, and exit')
    .option('--http-port <port>', 'HTTP port for API, pages and Socket.IO (http.port, env RB_HTTP_PORT, default 8080)', intOption('--http-port'))
    .option('--mqtt-port <port>', 'MQTT port for gateways (mqtt.port, env RB_MQTT_PORT, default 1883)', intOption('--mqtt-port'))
    .option('--data-dir <dir>', 'folder for the hub database and state (dataDir, env RB_DATA_DIR, default ./data)')
    .option('--host <address>', 'address to bind (host, env RB_HOST, default 0.0.0.0)')
    .addOption(logLevelOption())
    .option('--influx-url <url>', 'InfluxDB 1.x URL with database, e.g. http://127.0.0.1:8086/redbutler (influx.url, env RB_INFLUX_URL)')
    .option('--db-url <url>', 'PostgreSQL URL, e.g. postgres://user:password@127.0.0.1:5432/redbutler (db.url, env RB_DB_URL); default the embedded SQLite hub.db')
    .option('--redis-url <url>', 'Redis of the hub cluster, e.g. redis://127.0.0.1:6379 (cluster.redisUrl, env RB_CLUSTER_REDIS_URL); /readyz then checks it too')
    .option('--node-id <id>', 'name of this hub node (cluster.nodeId, env RB_CLUSTER_NODE_ID); default from the host name')
    .action(async (opts: HubRunOptions, cmd: Command) => {
      const { resolveHubConfig } = await configModule();
      if (opts.checkConfig) {
        try {
          const checked = resolveHubConfig({}, process.env, { file: opts.checkConfig });
          process.stdout.write(`${opts.checkConfig}: OK (data dir ${checked.dataDir}, http ${checked.http.host}:${checked.http.port}, mqtt ${checked.mqtt.host}:${checked.mqtt.port})\n`);
          return;
        } catch (err) {
          exitOnConfigError(err);
        }
      }
      let config;
      try {
        config = resolveHubConfig(
          {
            dataDir: opts.dataDir,
            host: opts.host,
            http: { port: opts.httpPort },
            mqtt: { port: opts.mqttPort },
            influx: { url: opts.influxUrl },
            db: { url: opts.dbUrl },
            cluster: { redisUrl: opts.redisUrl, nodeId: opts.nodeId },
            logLevel: (cmd.optsWithGlobals() as { logLevel?: 'info' }).logLevel,
          },
          process.env,
          { file: opts.config },
        );
      } catch (err) {
        exitOnConfigError(err);
      }
      const log = rootLogger(cmd, 'hub', config.logLevel);
      const { createHub } = await import('../hub/main.js');
      const instance = createHub({ config, log });
      runUntilSignal(log, () => instance.stop());
      await instance.start();
    });

  registerRegistryCommands(hub);
  registerUserCommands(hub);
  registerPosterCommand(hub);
  hub
    .command('backup')
    .description('write one consistent copy of the hub database to --out, online (the hub may keep running); PostgreSQL: use pg_dump')
    .requiredOption('--out <file>', 'the backup file to write (never overwritten), e.g. backup/hub-2026-12-07.db')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--db-url <url>', DB_URL_HELP)
    .option('--config <file>', CONFIG_HELP)
    .action(async (o: AdminDbOptions & { out: string }) => {
      const log = pino({ level: 'warn' }, pino.destination(2));
      let hubDb: HubDatabase | undefined;
      try {
        const [{ resolveHubConfig }, { createDatabase }] = await Promise.all([configModule(), dbModule()]);
        const config = resolveHubConfig({ dataDir: o.dataDir, db: { url: o.dbUrl } }, process.env, { file: o.config });
        const file = join(config.dataDir, 'hub.db');
        if (!config.db.url && !existsSync(file)) throw new Error(`no hub database at ${file} (--data-dir, or dataDir in --config)`);
        const t0 = Date.now();
        // As it is: a backup neither migrates nor imports anything.
        hubDb = createDatabase({ url: config.db.url, file, log });
        let shown = 0;
        const { bytes } = await hubDb.backup(o.out, (p) => {
          const done = p.totalPages - p.remainingPages;
          if (p.totalPages > 5000 && Date.now() - shown > 1000) {
            shown = Date.now();
            process.stderr.write(`red-butler hub backup: ${Math.round((100 * done) / p.totalPages)} % (${done}/${p.totalPages} pages)\n`);
          }
        });
        process.stdout.write(`${JSON.stringify({ out: o.out, from: file, bytes, ms: Date.now() - t0 })}\n`);
      } catch (err) {
        refused('backup', err);
      } finally {
        await hubDb?.close();
      }
    });
}

export function refused(command: string, err: unknown): void {
  const code = err instanceof RbError ? `${err.code}: ` : '';
  process.stderr.write(`red-butler hub ${command}: ${code}${(err as Error).message}\n`);
  process.exitCode = 2;
}

export const DATA_DIR_HELP = "the hub's data folder (dataDir, env RB_DATA_DIR, default ./data)";
export const DB_URL_HELP = "the hub's PostgreSQL database (db.url, env RB_DB_URL); default the embedded SQLite {data dir}/hub.db";
export const CONFIG_HELP = "the hub's config file (YAML): the admin commands open the database it names";

/** Where an admin command finds the hub database: the same config as `red-butler hub` (file < env < flags). */
export interface AdminDbOptions {
  dataDir?: string;
  dbUrl?: string;
  config?: string;
}

/**
 * The registry in the same hub database as the hub (PostgreSQL at db.url, else {dataDir}/hub.db),
 * moved from registry.db first if the hub has not yet. Its changes reach a running hub through
 * `registry_changes` (hub/registry.ts).
 */
export async function openHubRegistry(
  o: AdminDbOptions,
  opened: Array<{ close(): void | Promise<void> }>,
): Promise<{ hubDb: HubDatabase; registry: Registry; log: pino.Logger; config: HubConfig }> {
  const log = pino({ level: 'warn' }, pino.destination(2));
  const [{ resolveHubConfig }, { openDatabase, importLegacyRegistry }, { openRegistry }] = await Promise.all([configModule(), dbModule(), import('../hub/registry.js')]);
  const config = resolveHubConfig({ dataDir: o.dataDir, db: { url: o.dbUrl } }, process.env, { file: o.config });
  const hubDb = await openDatabase({ url: config.db.url, file: join(config.dataDir, 'hub.db'), log });
  opened.push(hubDb);
  await importLegacyRegistry(hubDb, config.dataDir, log);
  const registry = await openRegistry(hubDb, { log });
  opened.push(registry);
  return { hubDb, registry, log, config };
}

export async function closeAll(opened: Array<{ close(): void | Promise<void> }>): Promise<void> {
  for (const o of opened.reverse()) await o.close();
}

/** Open the registry, run `fn`, print its result as JSON; a refusal goes to stderr with exit code 2. */
function withRegistry<T>(command: string, where: AdminDbOptions, fn: (registry: Registry) => T | Promise<T>): Promise<void> {
  const opened: Array<{ close(): void | Promise<void> }> = [];
  return openHubRegistry(where, opened)
    .then(({ registry }) => fn(registry))
    .then((result) => void process.stdout.write(`${JSON.stringify(result)}\n`))
    .catch((err: unknown) => refused(command, err))
    .finally(() => closeAll(opened));
}

type GatewayOpts = AdminDbOptions & { estate: string; gateway: string };

function registerRegistryCommands(hub: Command): void {
  const gateway = hub.command('gateway').description('provision gateways in the hub registry');
  const gatewayCommand = (name: string, description: string): Command =>
    gateway
      .command(name)
      .description(description)
      .option('--data-dir <dir>', DATA_DIR_HELP)
      .option('--db-url <url>', DB_URL_HELP)
      .option('--config <file>', CONFIG_HELP)
      .requiredOption('--estate <id>', 'estate id ([a-z0-9-]{1,64})')
      .requiredOption('--gateway <id>', 'gateway id ([a-z0-9-]{1,64})');
  gatewayCommand('add', 'provision a gateway (or re-activate / re-issue one) and print its credentials as JSON').action((o: GatewayOpts) =>
    withRegistry('gateway add', o, (r) => r.addGateway(o.estate, o.gateway)),
  );
  gatewayCommand('rotate', 'give a gateway a new password (the old one stops working; a running hub closes its connection) and print its credentials as JSON').action(
    (o: GatewayOpts) => withRegistry('gateway rotate', o, (r) => r.rotateGateway(o.estate, o.gateway)),
  );
  gatewayCommand('revoke', 'revoke a gateway: refused from now on, a running hub closes its connection within ~1 s').action((o: GatewayOpts) =>
    withRegistry('gateway revoke', o, (r) => r.revokeGateway(o.estate, o.gateway)),
  );
  gateway
    .command('list')
    .description('list provisioned gateways as JSON (no secrets)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
      .option('--db-url <url>', DB_URL_HELP)
      .option('--config <file>', CONFIG_HELP)
    .action(async (opts: AdminDbOptions) => {
      const opened: Array<{ close(): void | Promise<void> }> = [];
      try {
        const { registry } = await openHubRegistry(opts, opened);
        process.stdout.write(`${JSON.stringify(registry.listGateways(), null, 2)}\n`);
      } finally {
        await closeAll(opened);
      }
    });

  hub
    .command('estate')
    .description('estates in the hub registry')
    .command('add')
    .description('add an estate (or update its street / name) and print it as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
      .option('--db-url <url>', DB_URL_HELP)
      .option('--config <file>', CONFIG_HELP)
    .requiredOption('--estate <id>', 'estate id ([a-z0-9-]{1,64})')
    .option('--street <id>', 'the street the estate belongs to (add the street first)')
    .option('--grid <id>', "the city-management grid the estate belongs to (add the grid first; the estate takes the grid's street)")
    .option('--name <name>', 'display name')
    .action((o: AdminDbOptions & { estate: string; street?: string; grid?: string; name?: string }) =>
      withRegistry('estate add', o, (r) => r.addEstate(o.estate, { street: o.street, grid: o.grid, name: o.name })),
    );

  hub
    .command('grid')
    .description('city-management grids (a patrol\'s beat) in the hub registry')
    .command('add')
    .description('add a grid (or update its street / name) and print it as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
      .option('--db-url <url>', DB_URL_HELP)
      .option('--config <file>', CONFIG_HELP)
    .requiredOption('--grid <id>', 'grid id ([a-z0-9-]{1,64})')
    .option('--street <id>', 'the street the grid belongs to (add the street first)')
    .option('--name <name>', 'display name')
    .action((o: AdminDbOptions & { grid: string; street?: string; name?: string }) =>
      withRegistry('grid add', o, (r) => r.addGrid(o.grid, { street: o.street, name: o.name })),
    );

  hub
    .command('street')
    .description('streets in the hub registry')
    .command('add')
    .description('add a street (or rename it) and print it as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
      .option('--db-url <url>', DB_URL_HELP)
      .option('--config <file>', CONFIG_HELP)
    .requiredOption('--street <id>', 'street id ([a-z0-9-]{1,64})')
    .option('--name <name>', 'display name')
    .action((o: AdminDbOptions & { street: string; name?: string }) => withRegistry('street add', o, (r) => r.addStreet(o.street, o.name)));
}

/** Open registry, people and audit log of a data dir, run `fn`, print its result as one JSON line. */
function withPeople<T>(command: string, where: AdminDbOptions, fn: (p: { people: People; registry: Registry; audit: Audit; config: HubConfig }) => T | Promise<T>): Promise<void> {
  const opened: Array<{ close(): void | Promise<void> }> = [];
  return Promise.resolve()
    .then(async () => {
      const { hubDb, registry, log, config } = await openHubRegistry(where, opened);
      const dataDir = config.dataDir;
      // Audit and people in the same hub database as the hub, moved from audit.db and people.db first if the hub has not yet.
      const [{ importLegacyAudit, importLegacyPeople }, { createAudit }, { openPeople }] = await Promise.all([dbModule(), import('../hub/audit.js'), import('../hub/people/index.js')]);
      await importLegacyAudit(hubDb, dataDir, log);
      await importLegacyPeople(hubDb, dataDir, log);
      const audit = createAudit({ db: hubDb, log });
      // The CLI issues tokens with the hub's key; ttl and time zone here do not matter (add passes its own ttl).
      // One command and out: no need to watch for other processes' changes; a running hub sees ours.
      const people = await openPeople({ db: hubDb, dataDir, registry, tokenTtl: '1h', timeZone: 'UTC', apiToken: undefined, watch: false });
      opened.push(people);
      return fn({ people, registry, audit, config });
    })
    .then((result) => void process.stdout.write(`${JSON.stringify(result)}\n`))
    .catch((err: unknown) => refused(command, err))
    .finally(() => closeAll(opened));
}

function scopeOption(value: string, previous: string[] = []): string[] {
  if (!Scope.safeParse(value).success) throw new Error(`--scope "${value}" must be estate:<id>, grid:<id> or street:<id> (ids match [a-z0-9-]{1,64})`);
  return [...previous, value];
}

function ttlOption(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new Error(`--ttl ${(err as Error).message}`);
  }
}

const shown = (u: User) => ({ id: u.id, name: u.name, displayName: u.displayName, role: u.role, scopes: u.scopes, disabled: u.disabled, createdAt: u.createdAt });

function registerUserCommands(hub: Command): void {
  const user = hub.command('user').description('people who use the hub: volunteers, patrols, centers, admins (docs/alerts.md)');
  user
    .command('add')
    .description('add a user and print {"id", "token"} as one JSON line (the token lasts --ttl)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
      .option('--db-url <url>', DB_URL_HELP)
      .option('--config <file>', CONFIG_HELP)
    .requiredOption('--name <name>', 'login name (letters, digits, . _ @ -; at most 64)')
    .addOption(new Option('--role <role>', 'what the user may do').choices(ROLES).makeOptionMandatory())
    .requiredOption('--scope <scope>', 'estate:<id>, grid:<id> or street:<id>; repeat for several', scopeOption)
    .option('--display-name <text>', 'name shown on screens')
    .option('--password <password>', 'password for POST /api/v1/auth/login (at least 8 characters); without one the user has only tokens')
    .option('--ttl <duration>', 'lifetime of the printed token, e.g. 12h or 30d (default auth.tokenTtl: env RB_AUTH_TOKEN_TTL, RB_TOKEN_TTL, or 1h)', ttlOption)
    .action((o: AdminDbOptions & { name: string; role: User['role']; scope: string[]; displayName?: string; password?: string; ttl?: number }) =>
      withPeople('user add', o, async ({ people, registry, audit, config }) => {
        const ttl = o.ttl ?? parseDuration(config.auth.tokenTtl);
        const added = await people.users.add({ name: o.name, displayName: o.displayName, role: o.role, scopes: o.scope, password: o.password });
        for (const s of o.scope) {
          if (registry.estatesInScope([s]).length === 0) process.stderr.write(`red-butler hub user add: warning: --scope ${s} covers no estate in the registry yet\n`);
        }
        await audit.record({ actor: 'cli', action: 'user.add', target: `user:${added.id}`, detail: { name: added.name, role: added.role, scopes: added.scopes } });
        const { token } = await people.tokens.issue(added, ttl);
        return { id: added.id, token };
      }),
    );
  user
    .command('list')
    .description('list users as JSON (no password hashes)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
      .option('--db-url <url>', DB_URL_HELP)
      .option('--config <file>', CONFIG_HELP)
    .action((o: AdminDbOptions) => withPeople('user list', o, ({ people }) => people.users.list().map(shown)));
  user
    .command('passwd')
    .description('set a user\'s password; tokens issued before stop working')
    .option('--data-dir <dir>', DATA_DIR_HELP)
      .option('--db-url <url>', DB_URL_HELP)
      .option('--config <file>', CONFIG_HELP)
    .requiredOption('--name <name>', 'login name or id of the user')
    .requiredOption('--password <password>', 'the new password (at least 8 characters)')
    .action((o: AdminDbOptions & { name: string; password: string }) =>
      withPeople('user passwd', o, async ({ people, audit }) => {
        const found = people.users.find(o.name);
        if (!found) throw new RbError('RB_ERR_UNKNOWN_USER', `--name: no user ${JSON.stringify(o.name)} (see hub user list)`);
        const u = await people.users.setPassword(found.id, o.password);
        await audit.record({ actor: 'cli', action: 'user.passwd', target: `user:${u.id}` });
        return shown(u);
      }),
    );
  user
    .command('disable')
    .description('disable a user: logins and every token refused from now on')
    .option('--data-dir <dir>', DATA_DIR_HELP)
      .option('--db-url <url>', DB_URL_HELP)
      .option('--config <file>', CONFIG_HELP)
    .requiredOption('--name <name>', 'login name or id of the user')
    .action((o: AdminDbOptions & { name: string }) =>
      withPeople('user disable', o, async ({ people, audit }) => {
        const found = people.users.find(o.name);
        if (!found) throw new RbError('RB_ERR_UNKNOWN_USER', `--name: no user ${JSON.stringify(o.name)} (see hub user list)`);
        const u = await people.users.disable(found.id);
        await audit.record({ actor: 'cli', action: 'user.disable', target: `user:${u.id}` });
        return shown(u);
      }),
    );
}
