import type Sharp from 'sharp';
import { lazyRequire } from '../../lib/lazy.js';
import { RbError } from '../errors.js';
import type { StoredPhotoInput } from './types.js';

const sharp = lazyRequire<typeof Sharp>('sharp');

/**
 * A photo someone uploaded (a resident's report, a volunteer's step), made safe to keep and show:
 * decoded by libvips (through sharp), so a file that is not a JPEG, PNG, WebP or HEIC image is refused
 * whatever its name or Content-Type says; turned upright by its orientation; its longest side capped;
 * re-encoded as JPEG, which drops every metadata block (EXIF, GPS position, XMP, comments).
 */
export interface PhotoLimits {
  /** Bytes accepted before decoding (config residents.maxPhotoBytes). */
  maxBytes: number;
  /** Longest side kept, in pixels. */
  maxSide: number;
  /** Refuse images over this many pixels before decoding them (a decompression bomb). */
  maxPixels: number;
}

export const DEFAULT_PHOTO_LIMITS: PhotoLimits = { maxBytes: 8 * 1024 * 1024, maxSide: 1920, maxPixels: 40_000_000 };

const FORMATS = new Set(['jpeg', 'png', 'webp', 'heif']);

export async function processPhoto(input: Buffer, limits: PhotoLimits = DEFAULT_PHOTO_LIMITS): Promise<StoredPhotoInput> {
  if (input.length === 0) throw new RbError('RB_ERR_BAD_BODY', 'the photo is empty');
  if (input.length > limits.maxBytes) {
    throw new RbError('RB_ERR_TOO_LARGE', `the photo is ${Math.ceil(input.length / 1024)} KiB; at most ${Math.floor(limits.maxBytes / 1024)} KiB is accepted (residents.maxPhotoBytes)`);
  }
  let format: string | undefined;
  try {
    format = (await sharp()(input, { limitInputPixels: limits.maxPixels }).metadata()).format;
  } catch (err) {
    // libvips checks the pixel limit on the header already: a decompression bomb is too large, not "not a photo".
    if (/pixel limit/i.test((err as Error).message)) throw new RbError('RB_ERR_TOO_LARGE', `the photo has more than ${limits.maxPixels} pixels`);
    format = undefined;
  }
  if (!format || !FORMATS.has(format)) throw new RbError('RB_ERR_BAD_BODY', 'the file is not a photo (JPEG, PNG, WebP or HEIC)');
  try {
    const data = await sharp()(input, { limitInputPixels: limits.maxPixels, failOn: 'error' })
      .rotate()
      .resize({ width: limits.maxSide, height: limits.maxSide, fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 82, mozjpeg: false })
      .toBuffer();
    return { contentType: 'image/jpeg', data };
  } catch (err) {
    const message = (err as Error).message;
    if (/pixel limit/i.test(message)) throw new RbError('RB_ERR_TOO_LARGE', `the photo has more than ${limits.maxPixels} pixels`);
    throw new RbError('RB_ERR_BAD_BODY', 'the photo could not be read (damaged or truncated)');
  }
}
