import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { RbError } from '../../../hub/errors.js';
import { DEFAULT_PHOTO_LIMITS, processPhoto } from '../../../hub/orders/images.js';

/** A photo as a phone takes it: a JPEG with camera and GPS EXIF blocks. */
async function jpegWithGps(): Promise<Buffer> {
  return sharp({ create: { width: 320, height: 240, channels: 3, background: '#c33' } })
    .jpeg()
    .withExif({ IFD0: { Make: 'TestCamMaker', Model: 'Phone-X' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '31/1 14/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '121/1 28/1 0/1' } })
    .toBuffer();
}

async function refusal(p: Promise<unknown>): Promise<RbError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RbError);
  return err as RbError;
}

describe('processPhoto (hub/orders/images.ts)', () => {
  it('re-encodes a JPEG with GPS EXIF to a JPEG without any metadata', async () => {
    const input = await jpegWithGps();
    const before = await sharp(input).metadata();
    expect(before.exif?.length).toBeGreaterThan(0);
    expect(input.includes(Buffer.from('TestCamMaker'))).toBe(true);

    const out = await processPhoto(input);
    expect(out.contentType).toBe('image/jpeg');
    const after = await sharp(out.data).metadata();
    expect(after.format).toBe('jpeg');
    expect([after.width, after.height]).toEqual([320, 240]);
    expect(after.exif).toBeUndefined();
    expect(after.xmp).toBeUndefined();
    expect(out.data.includes(Buffer.from('TestCamMaker'))).toBe(false);
    expect(out.data.includes(Buffer.from('Exif\0'))).toBe(false);
  });

  it('accepts a PNG (as a JPEG) and caps the longest side', async () => {
    const png = await sharp({ create: { width: 3000, height: 1000, channels: 4, background: '#36c' } }).png().toBuffer();
    const out = await processPhoto(png, { ...DEFAULT_PHOTO_LIMITS, maxSide: 1200 });
    const m = await sharp(out.data).metadata();
    expect(m.format).toBe('jpeg');
    expect([m.width, m.height]).toEqual([1200, 400]);
  });

  it('refuses a text file named like a photo', async () => {
    const err = await refusal(processPhoto(Buffer.from('<script>alert(1)</script> this is not a photo.jpg\n')));
    expect(err.code).toBe('RB_ERR_BAD_BODY');
    expect(err.message).toMatch(/not a photo/);
  });

  it('refuses a truncated JPEG', async () => {
    const whole = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#0a0' } })
      .composite([{ input: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><circle cx="200" cy="150" r="120" fill="#f0f"/></svg>') }])
      .jpeg()
      .toBuffer();
    const err = await refusal(processPhoto(whole.subarray(0, Math.floor(whole.length / 2))));
    expect(err.code).toBe('RB_ERR_BAD_BODY');
    expect(err.message).toMatch(/damaged or truncated/);
  });

  it('refuses a photo over the byte cap and names the config key', async () => {
    const input = await jpegWithGps();
    const err = await refusal(processPhoto(input, { ...DEFAULT_PHOTO_LIMITS, maxBytes: input.length - 1 }));
    expect(err.code).toBe('RB_ERR_TOO_LARGE');
    expect(err.message).toContain('residents.maxPhotoBytes');
  });

  it('refuses an empty file', async () => {
    expect((await refusal(processPhoto(Buffer.alloc(0)))).code).toBe('RB_ERR_BAD_BODY');
  });

  it('refuses a pixel bomb (a small file of 48 million pixels) before decoding it', async () => {
    const bomb = await sharp({ create: { width: 8000, height: 6000, channels: 3, background: '#fff' } }).png({ compressionLevel: 9 }).toBuffer();
    expect(bomb.length).toBeLessThan(DEFAULT_PHOTO_LIMITS.maxBytes);
    const err = await refusal(processPhoto(bomb));
    expect(err.code).toBe('RB_ERR_TOO_LARGE');
    expect(err.message).toMatch(/more than 40000000 pixels/);
  });
});
