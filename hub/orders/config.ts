import { z } from 'zod';
import { OrderDeadlinesShape } from './deadlines.js';

/**
 * `orders.*` of the hub config (docs/work-orders.md, docs/configuration.md). The work-order core's keys;
 * the tiers, whistle and retention parts add theirs here (one section, each key `.describe()`d).
 */
export const OrdersConfigSchema = z
  .object({
    maxPhotos: z.number().int().min(0).max(10).default(3).describe('Photos one step of a work order (a report, a volunteer\'s action) may carry'),
    maxPhotoBytes: z
      .number()
      .int()
      .min(16 * 1024)
      .max(32 * 1024 * 1024)
      .default(8 * 1024 * 1024)
      .describe('Largest photo accepted on a work order, bytes, before it is decoded; kept photos are re-encoded JPEGs without metadata (EXIF, GPS)'),
    autoCloseAfter: z
      .string()
      .regex(/^[1-9]\d{0,5}[smhd]$/, 'a duration such as 72h or 7d')
      .default('7d')
      .describe('A resolved work order nobody rated is closed by the hub this long after its resolution, e.g. 7d'),
    // Tiers and deadlines, whistled departments (hub/orders/deadlines.ts).
    ...OrderDeadlinesShape,
    retention: z
      .string()
      .regex(/^[1-9]\d{0,5}[smhd]$/, 'a duration such as 730d')
      .default('730d')
      .describe('How long photos and closed work orders are kept, e.g. 730d (two years): a closed order (steps, photos, whistles) is deleted that long after closing, a photo of an order no longer open that long after it was taken; open orders are kept'),
  })
  .strict();
