import busboy from 'busboy';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { RbError } from '../errors.js';
import { processPhoto, type PhotoLimits } from './images.js';
import type { StoredPhotoInput } from './types.js';

/**
 * The body of a work-order write: JSON, or `multipart/form-data` when photos come with it (a phone's
 * camera). Multipart is read by busboy with hard limits — photos, their bytes, fields, each field's
 * bytes — and stops at the first one passed; every photo then goes through processPhoto (decoded,
 * metadata stripped). Fields arrive as strings and are validated by the route's zod schema.
 */
export interface BodyLimits {
  maxPhotos: number;
  photo: PhotoLimits;
}

/** Text fields a form may carry, and the bytes of each (a 2,000-character note in Chinese is ~6 KB). */
const MAX_FIELDS = 20;
const MAX_FIELD_BYTES = 8 * 1024;

export interface WriteBody {
  fields: Record<string, unknown>;
  photos: StoredPhotoInput[];
}

const json = express.json({ limit: '64kb' });
const runJson = (req: Request, res: Response): Promise<void> => new Promise((resolve, reject) => json(req, res, (err?: unknown) => (err ? reject(err) : resolve())));

export async function readWriteBody(req: Request, res: Response, limits: BodyLimits): Promise<WriteBody> {
  if (req.is('multipart/form-data')) {
    const { fields, files } = await readMultipart(req, limits);
    const photos: StoredPhotoInput[] = [];
    for (const [i, f] of files.entries()) {
      try {
        photos.push(await processPhoto(f, limits.photo));
      } catch (err) {
        if (err instanceof RbError) throw new RbError(err.code, `photo ${i + 1}: ${err.message}`);
        throw err;
      }
    }
    return { fields, photos };
  }
  // No body at all (an empty POST): no fields.
  if (!req.headers['content-type'] && (req.headers['content-length'] === undefined || req.headers['content-length'] === '0') && !req.headers['transfer-encoding']) return { fields: {}, photos: [] };
  await runJson(req, res);
  const body: unknown = req.body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RbError('RB_ERR_BAD_BODY', 'the body is a JSON object (Content-Type: application/json) or multipart/form-data');
  }
  return { fields: body as Record<string, unknown>, photos: [] };
}

/** Middleware form for routes that take JSON only. */
export const jsonBody: RequestHandler = json;

function readMultipart(req: Request, limits: BodyLimits): Promise<{ fields: Record<string, string>; files: Buffer[] }> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        limits: { files: limits.maxPhotos, fileSize: limits.photo.maxBytes, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, parts: limits.maxPhotos + MAX_FIELDS },
      });
    } catch (err) {
      reject(new RbError('RB_ERR_BAD_BODY', `the multipart body cannot be read: ${(err as Error).message}`));
      return;
    }
    const fields = Object.create(null) as Record<string, string>;
    const files: Buffer[] = [];
    let failed = false;
    const fail = (e: RbError): void => {
      if (failed) return;
      failed = true;
      // Stop parsing; the rest of the body is read and dropped by Node once the answer is sent.
      req.unpipe(bb);
      req.resume();
      reject(e);
    };
    bb.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => void (failed || chunks.push(c)));
      stream.on('limit', () => {
        fail(new RbError('RB_ERR_TOO_LARGE', `photo ${files.length + 1} (${name}${info.filename ? `, ${info.filename}` : ''}): larger than ${Math.floor(limits.photo.maxBytes / 1024)} KiB (orders.maxPhotoBytes)`));
        stream.resume();
      });
      stream.on('end', () => {
        if (!failed && chunks.length > 0) files.push(Buffer.concat(chunks));
      });
    });
    bb.on('field', (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) return fail(new RbError('RB_ERR_TOO_LARGE', `${name}: longer than ${MAX_FIELD_BYTES} bytes`));
      if (Object.hasOwn(fields, name)) return fail(new RbError('RB_ERR_BAD_BODY', `${name}: given twice`));
      fields[name] = value;
    });
    bb.on('filesLimit', () => fail(new RbError('RB_ERR_TOO_LARGE', `at most ${limits.maxPhotos} photos (orders.maxPhotos)`)));
    bb.on('fieldsLimit', () => fail(new RbError('RB_ERR_TOO_LARGE', `at most ${MAX_FIELDS} fields`)));
    bb.on('partsLimit', () => fail(new RbError('RB_ERR_TOO_LARGE', `at most ${limits.maxPhotos + MAX_FIELDS} parts`)));
    bb.on('error', (err: Error) => fail(new RbError('RB_ERR_BAD_BODY', `the multipart body cannot be read: ${err.message}`)));
    bb.on('close', () => {
      if (!failed) resolve({ fields, files });
    });
    req.on('aborted', () => fail(new RbError('RB_ERR_BAD_BODY', 'the upload was aborted')));
    req.pipe(bb);
  });
}
