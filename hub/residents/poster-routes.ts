import { Router, type Request, type RequestHandler, type Response } from 'express';
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
  /** Scope first (another estate is 403 whether it exists or not), then the estate. */
  const input = (req: Request, res: Response): PosterInput & { id: string } => {
    const id = Id.safeParse(req.params.estate);
    if (!id.success) throw new RbError('RB_ERR_NOT_FOUND', 'no such estate');
    requireEstate(principalOf(res), id.data);
    const record = deps.estate(id.data);
    if (!record) throw new RbError('RB_ERR_NOT_FOUND', `no estate ${id.data}`);
    return { id: id.data, estateName: record.name ?? id.data, url: reportUrl(deps.publicUrl, id.data), fontFile: deps.fontFile };
  };
  const send = (res: Response, type: string, file: string, data: Buffer) =>
    res.type(type).set({ 'Cache-Control': 'private, no-cache', 'Content-Disposition': `inline; filename="${file}"` }).send(data);
  router.get('/api/v1/estates/:estate/poster.png', deps.auth, async (req, res) => {
    const p = input(req, res);
    send(res, 'image/png', `poster-${p.id}.png`, await posterPng(p));
  });
  router.get('/api/v1/estates/:estate/poster.pdf', deps.auth, async (req, res) => {
    const p = input(req, res);
    send(res, 'application/pdf', `poster-${p.id}.pdf`, await posterPdf(p));
  });
  return router;
}
