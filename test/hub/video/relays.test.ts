import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRelayRegistry, type HeldLink } from '../../../hub/video/relays.js';
import { usePostgres } from '../../support/postgres.js';
import { postgresFactory, silent, sqliteFactory, type DatabaseFactory, type DatabaseUnderTest } from '../platform/support.js';

/** The video relay registry (table `video_relays`, hub/video/relays.ts) on both engines of the hub database. */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hello = { t: 'hello' as const, version: '1', cameras: [{ device: 'cam-1', ptz: false, profiles: [{ quality: 'main' as const }] }] };

function describeRelays(engine: string, factory: DatabaseFactory): void {
  describe(`video relay registry on ${engine}`, () => {
    let t: DatabaseUnderTest;
    beforeEach(async () => {
      t = await factory();
    });
    afterEach(async () => {
      await t.cleanup();
    });
    const registry = (nodeId: string, ttlMs = 60_000) => createRelayRegistry({ db: t.db, nodeId, ttlMs, log: silent });

    it('records the holder and its hello; a newer link elsewhere takes the row over; an old link’s release or renewal leaves it', async () => {
      const a = registry('hub-a');
      const b = registry('hub-b');
      const onA: HeldLink = { estate: 'maple', gateway: 'gw-1', id: 'link-a' };
      await a.claim(onA);
      expect(await b.holder('maple', 'gw-1')).toEqual({ estate: 'maple', gateway: 'gw-1', node: 'hub-a', cameras: null });
      onA.hello = hello;
      await a.hello(onA);
      expect((await b.holders('maple')).map((h) => [h.gateway, h.node, h.cameras])).toEqual([['gw-1', 'hub-a', hello.cameras]]);
      expect(await b.holders('oak')).toEqual([]);

      // The gateway reconnects to hub-b: its row moves; hub-a, which has not noticed yet, neither renews nor releases it.
      await b.claim({ estate: 'maple', gateway: 'gw-1', id: 'link-b' });
      expect((await a.holder('maple', 'gw-1'))?.node).toBe('hub-b');
      await a.renew([onA]);
      expect((await a.holder('maple', 'gw-1'))?.node).toBe('hub-b');
      await a.release(onA);
      expect(await a.holder('maple', 'gw-1')).toMatchObject({ node: 'hub-b', cameras: null });
    });

    it('renewal re-claims a held link whose row is gone and drops rows of links no longer held; releaseAll is per node', async () => {
      const a = registry('hub-a');
      const b = registry('hub-b');
      const l1: HeldLink = { estate: 'maple', gateway: 'gw-1', id: 'l1', hello };
      const l2: HeldLink = { estate: 'maple', gateway: 'gw-2', id: 'l2' };
      await a.claim(l1);
      await a.claim(l2);
      await b.claim({ estate: 'maple', gateway: 'gw-3', id: 'l3' });
      // A failed write (here: the row deleted behind its back) is repaired by the next renewal.
      await t.db.db.deleteFrom('video_relays').where('gateway', '=', 'gw-1').execute();
      await a.renew([l1]);
      expect((await b.holders('maple')).map((h) => [h.gateway, h.node, h.cameras?.length ?? null]).sort()).toEqual([
        ['gw-1', 'hub-a', 1],
        ['gw-3', 'hub-b', null],
      ]);
      await a.releaseAll();
      expect((await b.holders('maple')).map((h) => h.gateway)).toEqual(['gw-3']);
    });

    it('ignores a row its node stopped renewing once the TTL passed; a live link then takes it', async () => {
      const dead = registry('hub-a', 800);
      const b = registry('hub-b', 800);
      await dead.claim({ estate: 'maple', gateway: 'gw-1', id: 'old' });
      expect((await b.holder('maple', 'gw-1'))?.node).toBe('hub-a');
      await sleep(1_000);
      expect(await b.holder('maple', 'gw-1')).toBeNull();
      expect(await b.holders('maple')).toEqual([]);
      // hub-b held a link for gw-1 all along whose claim was lost: its renewal takes the lapsed row.
      await b.renew([{ estate: 'maple', gateway: 'gw-1', id: 'new' }]);
      expect((await b.holder('maple', 'gw-1'))?.node).toBe('hub-b');
      // A row lapsed for a whole TTL more is deleted by any node's renewal.
      await dead.claim({ estate: 'maple', gateway: 'gw-9', id: 'x' });
      await sleep(1_800);
      await b.renew([{ estate: 'maple', gateway: 'gw-1', id: 'new' }]);
      expect((await t.db.db.selectFrom('video_relays').select('gateway').execute()).map((r) => r.gateway)).toEqual(['gw-1']);
    });
  });
}

describeRelays('SQLite', sqliteFactory);
describeRelays('PostgreSQL 15', postgresFactory(usePostgres(), 'video_relays'));
