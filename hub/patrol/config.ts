import { z } from 'zod';
import type { PatrolOptions } from './service.js';

/** The hub config's `patrol` section (hub/config.ts; docs/configuration.md is generated from it). */
export const PatrolSchema = z
  .object({
    lateGraceMinutes: z.number().int().min(0).max(1440).default(60).describe("A patrol checkpoint scanned this many minutes after its round's window ended still counts, marked late"),
    aheadHours: z.number().int().min(1).max(168).default(24).describe('Patrol runs are made this many hours ahead of their start (the phone lists the day\'s)'),
    checkEveryS: z.number().int().min(1).max(3600).default(30).describe('The patrol schedule is looked at at least this often, seconds; a checkpoint\'s deadline is timed to the millisecond'),
  })
  .strict();

export type PatrolConfig = z.output<typeof PatrolSchema>;

/** The service's options from the config section and the hub's time zone. */
export const patrolOptions = (timeZone: string, c: PatrolConfig): PatrolOptions => ({ timeZone, lateGraceMinutes: c.lateGraceMinutes, aheadHours: c.aheadHours, checkEveryMs: c.checkEveryS * 1000 });
