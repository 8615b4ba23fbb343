import { z } from 'zod';

/**
 * Events the hub itself appends to the event log (issue 19: patrol rounds), beside the gateways'
 * events: the alert rules, live screens and event history see them as they see a device event. They
 * are NOT in EVENT_TYPES, so decodeEvent refuses them from a gateway (`unknown-type`): no gateway can
 * forge one. Their `gateway` is HUB_GATEWAY and their `device` is what they are about (a checkpoint).
 */
export const HUB_GATEWAY = 'hub';

/** A patrol round's checkpoint passed its deadline with no scan (hub/patrol). */
export const PatrolMissedData = z
  .object({
    round: z.string().max(64).describe('Round id'),
    roundName: z.string().max(200),
    run: z.string().max(128).describe('Run id: the round at one scheduled start'),
    checkpoint: z.string().max(64),
    checkpointName: z.string().max(200),
    location: z.string().max(500),
    startsAt: z.number().int().describe('When the run started, ms'),
    dueAt: z.number().int().describe('The checkpoint was due by then, ms'),
    seq: z.number().int().min(1).describe('Its place in the round, from 1'),
  })
  .strict();

export const HUB_EVENT_TYPES = {
  'patrol.missed': { alarm: false, data: PatrolMissedData },
} as const;
export type HubEventType = keyof typeof HUB_EVENT_TYPES;
