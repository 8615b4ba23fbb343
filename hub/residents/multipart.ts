import type { Request } from 'express';
import busboy from 'busboy';

/**
 * The report form (multipart/form-data, or urlencoded without photos) read with busboy under caps:
 * a few short fields, at most `maxFiles` files of at most `maxFileBytes` each, at most `maxBodyBytes`
 * in all. A cap crossed is not an exception: it is in `problem`, and the caller answers with a page.
 */
export interface FormCaps {
  maxFields: number;
  maxFieldBytes: number;
  maxFiles: number;
  maxFileBytes: number;
  maxBodyBytes: number;
}

export type FormProblem =
  | { kind: 'body-too-large' }
  | { kind: 'file-too-large'; name: string }
  | { kind: 'too-many-files' }
  | { kind: 'too-many-fields' }
  | { kind: 'field-too-long'; field: string }
  | { kind: 'not-a-form' };

export interface ParsedForm {
  fields: Record<string, string>;
  /** Chosen files only (an empty file input sends a part with no name and no bytes: skipped). */
  files: { field: string; name: string; data: Buffer }[];
  problem?: FormProblem;
}

/**
 * Read and drop the rest of a request that was refused, so the phone still gets the answer (it sends
 * its whole upload before it reads); past `maxBytes` more the connection is cut (the
 * callers allow twice residents.maxBodyBytes).
 */
export function discard(req: Request, maxBytes: number): void {
  let left = maxBytes;
  req.on('data', (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) req.socket.destroy();
  });
  req.resume();
}

export function readForm(req: Request, caps: FormCaps): Promise<ParsedForm> {
  const out: ParsedForm = { fields: {}, files: [] };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > caps.maxBodyBytes) {
    discard(req, 2 * caps.maxBodyBytes);
    return Promise.resolve({ ...out, problem: { kind: 'body-too-large' } });
  }
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: req.headers,
      limits: { fields: caps.maxFields, fieldSize: caps.maxFieldBytes, files: caps.maxFiles, fileSize: caps.maxFileBytes, parts: caps.maxFields + caps.maxFiles + 4, fieldNameSize: 64 },
    });
  } catch {
    return Promise.resolve({ ...out, problem: { kind: 'not-a-form' } });
  }
  return new Promise((resolve) => {
    let done = false;
    const finish = (problem?: FormProblem) => {
      if (done) return;
      done = true;
      req.unpipe(bb);
      // The rest of an upload refused half-way is read and dropped, so the answer still reaches the phone.
      if (problem) discard(req, 2 * caps.maxBodyBytes);
      resolve(problem ? { ...out, problem } : out);
    };
    const note = (problem: FormProblem) => {
      out.problem ??= problem;
    };
    let total = 0;
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > caps.maxBodyBytes) finish({ kind: 'body-too-large' });
    });
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) note({ kind: 'field-too-long', field: name });
      else out.fields[name] = value;
    });
    bb.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      stream.on('data', (c: Buffer) => {
        bytes += c.length;
        chunks.push(c);
      });
      stream.on('limit', () => note({ kind: 'file-too-large', name: info.filename ?? field }));
      stream.on('end', () => {
        if (stream.truncated || (bytes === 0 && !info.filename)) return;
        out.files.push({ field, name: info.filename ?? '', data: Buffer.concat(chunks) });
      });
    });
    bb.on('filesLimit', () => note({ kind: 'too-many-files' }));
    bb.on('fieldsLimit', () => note({ kind: 'too-many-fields' }));
    bb.on('partsLimit', () => note({ kind: 'too-many-fields' }));
    bb.on('error', () => finish(out.problem ?? { kind: 'not-a-form' }));
    bb.on('close', () => finish(out.problem));
    req.pipe(bb);
  });
}
