import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { RelayHello } from '../../protocol/video.js';
import type { HubDatabase } from '../platform/db/index.js';

/** A relay link this node holds, as the registry records it. */
export interface HeldLink {
  readonly estate: string;
  readonly gateway: string;
  /** Unique per link (a reconnect is a new id): only this link's node renews or releases its row. */
  readonly id: string;
  hello?: RelayHello | undefined;
}

/** Who holds a gateway's relay link now (a row whose lease has not lapsed). */
export interface RelayHolder {
  estate: string;
  gateway: string;
  node: string;
  /** The link's `hello` cameras (null until it came). */
  cameras: RelayHello['cameras'] | null;
}

export interface RelayRegistryOptions {
  db: HubDatabase;
  nodeId: string;
  /** A row not renewed within this time is ignored (its node is gone); renewed every third of it. */
  ttlMs: number;
  log: Logger;
}

/**
 * Which hub node holds each gateway's video relay WebSocket (docs/video.md, "Cluster"): table
 * `video_relays` of the shared database, one row per gateway, no protocol of our own between nodes.
 * A link that comes up takes the row (a newer link on another node takes it over); its node renews
 * its rows every third of the TTL and releases a row when its link drops; a row whose node died
 * lapses after the TTL (PostgreSQL's clock, so the nodes' clocks do not matter). Writes go one after
 * the other (a release never overtakes its claim); a failed write is logged and repaired by the next
 * renewal, which claims again every held link it did not find (unless another node's newer link
 * holds the row) and drops rows of links this node no longer holds.
 */
export function createRelayRegistry(o: RelayRegistryOptions) {
  const { db: h, nodeId, ttlMs, log } = o;
  if (!(ttlMs >= 300)) throw new RangeError(`relay registry TTL must be at least 300 ms, got ${ttlMs}`);
  const now = () => (h.dialect === 'postgres' ? sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint` : sql<number>`${Date.now()}`);
  const until = () => sql<number>`${now()} + ${ttlMs}`;
  const helloText = (l: HeldLink) => (l.hello ? JSON.stringify(l.hello.cameras) : null);
  let chain: Promise<void> = Promise.resolve();
  let failing = false;

  /** Run `fn` after every write queued before it; errors are logged (at most once per outage), never thrown. */
  function queue(what: string, fn: () => Promise<unknown>): Promise<void> {
    chain = chain.then(fn).then(
      () => {
        if (failing) log.info('video relay registry: writes work again');
        failing = false;
      },
      (err: unknown) => {
        if (!failing) log.warn({ err, what }, 'video relay registry: write failed (repaired at the next renewal)');
        failing = true;
      },
    );
    return chain;
  }

  const claimRow = (l: HeldLink) =>
    h.db.insertInto('video_relays').values({ estate: l.estate, gateway: l.gateway, node_id: nodeId, link_id: l.id, hello: helloText(l), since: Date.now(), expires_at: until() });

  function decode(r: { estate: string; gateway: string; node_id: string; hello: string | null }): RelayHolder {
    let cameras: RelayHello['cameras'] | null = null;
    try {
      cameras = r.hello ? (JSON.parse(r.hello) as RelayHello['cameras']) : null;
    } catch {
      cameras = null;
    }
    return { estate: r.estate, gateway: r.gateway, node: r.node_id, cameras };
  }

  return {
    nodeId,
    ttlMs,
    /** A link came up here: it holds the gateway's row now, whoever held it before. */
    claim: (l: HeldLink) =>
      queue('claim', () =>
        claimRow(l)
          .onConflict((oc) =>
            oc.columns(['estate', 'gateway']).doUpdateSet((eb) => ({
              node_id: eb.ref('excluded.node_id'),
              link_id: eb.ref('excluded.link_id'),
              hello: eb.ref('excluded.hello'),
              since: eb.ref('excluded.since'),
              expires_at: eb.ref('excluded.expires_at'),
            })),
          )
          .execute(),
      ),
    /** The link's `hello` came (or came again). */
    hello: (l: HeldLink) =>
      queue('hello', () => h.db.updateTable('video_relays').set({ hello: helloText(l) }).where('estate', '=', l.estate).where('gateway', '=', l.gateway).where('link_id', '=', l.id).execute()),
    /** The link dropped: its row goes, unless a newer link (here or elsewhere) holds it already. */
    release: (l: HeldLink) =>
      queue('release', () => h.db.deleteFrom('video_relays').where('estate', '=', l.estate).where('gateway', '=', l.gateway).where('link_id', '=', l.id).execute()),
    /**
     * Every third of the TTL: extend this node's rows; claim again a held link whose row is missing or
     * lapsed (a write that failed, the database away for longer than the TTL); drop rows of links no
     * longer held; delete rows lapsed for a whole TTL (a dead node's).
     */
    renew: (held: readonly HeldLink[]) =>
      queue('renew', async () => {
        const renewed = await h.db.updateTable('video_relays').set({ expires_at: until() }).where('node_id', '=', nodeId).returning(['estate', 'gateway', 'link_id']).execute();
        const ids = new Set(held.map((l) => l.id));
        const found = new Set(renewed.map((r) => r.link_id));
        const stale = renewed.filter((r) => !ids.has(r.link_id)).map((r) => r.link_id);
        if (stale.length > 0) await h.db.deleteFrom('video_relays').where('node_id', '=', nodeId).where('link_id', 'in', stale).execute();
        for (const l of held) {
          if (found.has(l.id)) continue;
          await claimRow(l)
            .onConflict((oc) =>
              oc
                .columns(['estate', 'gateway'])
                .doUpdateSet((eb) => ({
                  node_id: eb.ref('excluded.node_id'),
                  link_id: eb.ref('excluded.link_id'),
                  hello: eb.ref('excluded.hello'),
                  since: eb.ref('excluded.since'),
                  expires_at: eb.ref('excluded.expires_at'),
                }))
                .where((eb) => eb.or([eb('video_relays.link_id', '=', l.id), eb('video_relays.expires_at', '<=', now())])),
            )
            .execute();
        }
        await h.db.deleteFrom('video_relays').where('expires_at', '<', sql<number>`${now()} - ${ttlMs}`).execute();
      }),
    /** Forget every row of this node (at start: links of an earlier run are gone; at stop). */
    releaseAll: () => queue('release all', () => h.db.deleteFrom('video_relays').where('node_id', '=', nodeId).execute()),
    /** Writes queued so far are done (tests). */
    settled: () => chain,
    /** Live holders of the estate's gateways (rows not lapsed). */
    async holders(estate: string): Promise<RelayHolder[]> {
      const rows = await h.db.selectFrom('video_relays').select(['estate', 'gateway', 'node_id', 'hello']).where('estate', '=', estate).where('expires_at', '>', now()).execute();
      return rows.map(decode);
    },
    /** The live holder of one gateway's link, or null. */
    async holder(estate: string, gateway: string): Promise<RelayHolder | null> {
      const r = await h.db.selectFrom('video_relays').select(['estate', 'gateway', 'node_id', 'hello']).where('estate', '=', estate).where('gateway', '=', gateway).where('expires_at', '>', now()).executeTakeFirst();
      return r ? decode(r) : null;
    },
  };
}

export type RelayRegistry = ReturnType<typeof createRelayRegistry>;
