import { ulid } from 'ulid';
import type { Handover, OnDutyUser as HandoverUser } from '../../protocol/api.js';
import { RbError } from '../errors.js';
import type { HubDatabase } from '../platform/db/index.js';

/**
 * Shift hand-overs (交班) in the hub database (docs/alerts.md, "Roster"): the person going off duty leaves a
 * note for whoever is on duty after them. Who that is comes from the roster at the moment of the
 * hand-over and is stored with it, so the record stays true when the roster changes later.
 */

/** The hand-over as the API and the push send it: one definition, in protocol/api.ts. */
export type { Handover, OnDutyUser as HandoverUser } from '../../protocol/api.js';
export interface Handovers {
  add(input: Omit<Handover, 'id'>): Promise<Handover>;
  /** The latest hand-over of an estate, or null. */
  last(estate: string): Promise<Handover | null>;
}

export function createHandovers(hubDb: HubDatabase): Handovers {
  const { db } = hubDb;
  return {
    async add(input) {
      const note = input.note.trim();
      if (note.length === 0 || input.note.length > 2000) throw new RbError('RB_ERR_BAD_BODY', 'a hand-over note is 1..2000 characters');
      const h: Handover = { ...input, note, id: ulid(input.at) };
      await db.insertInto('handovers').values({ id: h.id, estate: h.estate, from_actor: h.from, from_name: h.fromName, note: h.note, at: h.at, to_users: JSON.stringify(h.to) }).execute();
      return h;
    },
    async last(estate) {
      const r = await db.selectFrom('handovers').selectAll().where('estate', '=', estate).orderBy('at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
      return r ? { id: r.id, estate: r.estate, from: r.from_actor, fromName: r.from_name, note: r.note, at: r.at, to: JSON.parse(r.to_users) as HandoverUser[] } : null;
    },
  };
}
