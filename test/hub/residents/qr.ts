import jsQRModule from 'jsqr';
import sharp from 'sharp';

// jsqr is CommonJS with `exports.default`: NodeNext types see the module object, loaders differ on unwrapping it.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as typeof jsQRModule.default;

/** Decode the QR code in an image from its pixels (sharp → RGBA → jsQR), as a phone camera would. */
export async function qrOf(image: Buffer): Promise<string | undefined> {
  const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height)?.data;
}
