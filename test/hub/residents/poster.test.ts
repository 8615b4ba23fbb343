import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS, RbError } from '../../../hub/errors.js';
import type { Principal } from '../../../hub/people/principals.js';
import { DEFAULT_POSTER_FONT } from '../../../hub/residents/config.js';
import { posterPdf, posterPng } from '../../../hub/residents/poster.js';
import { posterRoutes, reportUrl } from '../../../hub/residents/poster-routes.js';
import { qrOf } from './qr.js';


const URL_A = 'https://rb.example.gov.cn/r/estate-a';

describe('the QR poster (hub/residents/poster.ts)', () => {
  it('renders an A4 PNG whose QR code decodes back to the report link', async () => {
    const png = await posterPng({ estateName: '枫林苑', url: URL_A, fontFile: DEFAULT_POSTER_FONT });
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.height! / meta.width!).toBeCloseTo(297 / 210, 2);
    expect(await qrOf(png)).toBe(URL_A);
    // The name is drawn (not tofu): the poster with another name differs above the QR code.
    const other = await posterPng({ estateName: '桂花园', url: URL_A, fontFile: DEFAULT_POSTER_FONT });
    const top = (b: Buffer) => sharp(b).extract({ left: 0, top: 100, width: 1240, height: 160 }).raw().toBuffer();
    expect((await top(png)).equals(await top(other))).toBe(false);
  });

  it('sets a name with markup in it as text (the SVG stays well-formed)', async () => {
    const png = await posterPng({ estateName: '<script>"&\'</script>', url: `${URL_A}?a=1&b=<2>`, fontFile: DEFAULT_POSTER_FONT });
    expect(await qrOf(png)).toBe(`${URL_A}?a=1&b=<2>`);
  });

  it('renders a PDF that embeds the CJK font', async () => {
    const pdf = await posterPdf({ estateName: '枫林苑', url: URL_A, fontFile: DEFAULT_POSTER_FONT });
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.includes(Buffer.from('WenQuanYiMicroHei'))).toBe(true);
    expect(pdf.includes(Buffer.from('/FontFile2'))).toBe(true);
    expect(pdf.subarray(-6).toString('latin1')).toContain('%%EOF');
  });

  it('names residents.posterFont when the font is missing', async () => {
    for (const render of [posterPng, posterPdf]) {
      const err = await render({ estateName: '枫林苑', url: URL_A, fontFile: '/nonexistent/font.ttc' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RbError);
      expect((err as Error).message).toContain('residents.posterFont');
    }
  });
});

describe('GET /api/v1/estates/:estate/poster.png|pdf', () => {
  let server: Server;
  let base = '';
  const principal = (estates: string[]): Principal => ({ id: 'u', name: 'u', role: 'center', scopes: [], estates: new Set(estates), kind: 'user', allEstates: false });
  beforeAll(async () => {
    const app = express();
    const estates: Record<string, { name: string | null }> = { 'estate-a': { name: '枫林苑' }, 'estate-b': { name: '桂花园' } };
    app.use(
      posterRoutes({
        auth: (req, res, next) => {
          if (!req.headers.authorization) return next(new RbError('RB_ERR_UNAUTHENTICATED', 'token required'));
          res.locals.principal = principal(['estate-a', 'no-such-estate']);
          next();
        },
        estate: (id) => estates[id],
        publicUrl: 'https://rb.example.gov.cn/',
        fontFile: DEFAULT_POSTER_FONT,
      }),
    );
    const onError: ErrorRequestHandler = (err: RbError, _req, res, _next) => void res.status(ERRORS[err.code].status).json({ error: { code: err.code, message: err.message } });
    app.use(onError);
    server = await new Promise((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const get = (path: string, token = true) => fetch(`${base}${path}`, { headers: token ? { authorization: 'Bearer t' } : {} });

  it('serves the PNG and the PDF to a user whose scope covers the estate', async () => {
    const png = await get('/api/v1/estates/estate-a/poster.png');
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(await qrOf(Buffer.from(await png.arrayBuffer()))).toBe(URL_A);
    const pdf = await get('/api/v1/estates/estate-a/poster.pdf');
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('refuses without a token, outside the scope, and for an unknown estate', async () => {
    expect((await get('/api/v1/estates/estate-a/poster.png', false)).status).toBe(401);
    expect((await get('/api/v1/estates/estate-b/poster.pdf')).status).toBe(403);
    expect((await get('/api/v1/estates/no-such-estate/poster.png')).status).toBe(404);
  });

  it('names notify.publicUrl while it is unset', () => {
    expect(() => reportUrl(undefined, 'estate-a')).toThrow(/set notify\.publicUrl/);
    expect(reportUrl('http://10.0.0.5:8080//', 'estate-a')).toBe('http://10.0.0.5:8080/r/estate-a');
  });
});
