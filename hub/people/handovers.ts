import type { Database } from 'better-sqlite3';
import { ulid } from 'ulid';
import type { Handover, OnDutyUser as HandoverUser } from '../../protocol/api.js';
import { RbError } from '../errors.js';

/**
 * Shift hand-overs (交班) in `people.db` (docs/alerts.md, "Roster"): the person going off duty leaves a
 * note for whoever is on duty after them. Who that is comes from the roster at the moment of the
 * hand-over and is stored with it, so the record stays true when the roster changes later.
 */

/** The hand-over as the API and the push send it: one definition, in protocol/api.ts. */
export type { Handover, OnDutyUser as HandoverUser } from '../../protocol/api.js';
export interface Handovers {
  add(input: Omit<Handover, 'id'>): Handover;
  /** The latest hand-over of an estate, or null. */
  last(estate: string): Handover | null;
}

type Row = { id: string; estate: string; from_actor: string; from_name: string; note: string; at: number; to_users: string };

const toHandover = (r: Row): Handover => ({
  id: r.id, estate: r.estate, from: r.from_actor, fromName: r.from_name, note: r.note, at: r.at, to: JSON.parse(r.to_users) as HandoverUser[],
});

export function createHandovers(db: Database): Handovers {
  const insert = db.prepare('INSERT INTO handovers (id, estate, from_actor, from_name, note, at, to_users) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const last = db.prepare<[string], Row>('SELECT * FROM handovers WHERE estate = ? ORDER BY at DESC, id DESC LIMIT 1');
  return {
    add(input) {
      const note = input.note.trim();
      if (note.length === 0 || input.note.length > 2000) throw new RbError('RB_ERR_BAD_BODY', 'a hand-over note is 1..2000 characters');
      const h: Handover = { ...input, note, id: ulid(input.at) };
      insert.run(h.id, h.estate, h.from, h.fromName, h.note, h.at, JSON.stringify(h.to));
      return h;
    },
    last(estate) {
      const r = last.get(estate);
      return r ? toHandover(r) : null;
    },
  };
}
