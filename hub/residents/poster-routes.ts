import { Router, type RequestHandler } from 'express';
import { Id } from '../../protocol/index.js';
import { RbError } from '../errors.js';
import { principalOf, requireEstate } from '../api/user-auth.js';
import { posterPdf, posterPng, type PosterInput } from './poster.js';

export interface PosterRoutesDeps {
  /** userAuth: a user token or RB_API_TOKEN. */
  auth: RequestHandler;
  /** The estate's record (registry.getEstate): undefined = no such estate. */
  estate: (id: string) => { name: string | null } | undefined;
  /** notify.publicUrl: the QR code holds {publicUrl}/r/{estate}. */
  publicUrl: string | undefined;
  /** residents.posterFont. */
  fontFile: string;
}

/** The link a poster's QR code holds; refused (naming the key) while notify.publicUrl is unset. */
export function reportUrl(publicUrl: string | undefined, estate: string): string {
  if (!publicUrl) {
    throw new RbError('RB_ERR_INTERNAL', 'the poster needs the address phones reach the hub at: set notify.publicUrl (e.g. https://rb.example.gov.cn); the QR code holds {notify.publicUrl}/r/{estate}');
  }
  return `${publicUrl.replace(/\/+$/, '')}/r/${estate}`;
}

/**
 * GET /api/v1/estates/{estate}/poster.png   the printable A4 QR poster (anyone whose scope covers the estate)
 * GET /api/v1/estates/{estate}/poster.pdf
 */
export function posterRoutes(deps: PosterRoutesDeps): Router {
  const router = Router();
  const input = (estateParam: unknown): PosterInput => {
    const id = Id.safeParse(estateParam);
    const record = id.success ? deps.estate(id.data) : undefined;
    if (!id.success || !record) throw new RbError('RB_ERR_NOT_FOUND', `no estate ${String(estateParam)}`);
    return { estateName: record.name ?? id.data, url: reportUrl(deps.publicUrl, id.data), fontFile: deps.fontFile };
  };
  router.get('/api/v1/estates/:estate/poster.png', deps.auth, async (req, res) => {
    requireEstate(principalOf(res), String(req.params.estate));
    const png = await posterPng(input(req.params.estate));
    res.type('image/png').set({ 'Cache-Control': 'private, no-cache', 'Content-Disposition': `inline; filename="poster-${String(req.params.estate)}.png"` }).send(png);
  });
  router.get('/api/v1/estates/:estate/poster.pdf', deps.auth, async (req, res) => {
    requireEstate(principalOf(res), String(req.params.estate));
    const pdf = await posterPdf(input(req.params.estate));
    res.type('application/pdf').set({ 'Cache-Control': 'private, no-cache', 'Content-Disposition': `inline; filename="poster-${String(req.params.estate)}.pdf"` }).send(pdf);
  });
  return router;
}
