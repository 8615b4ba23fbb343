/**
 * The camera wall's tiles (pure; web/src/views/camera-wall.tsx draws them): which camera each tile
 * shows, which are pinned, and which a new severe alert takes over. Kept per estate in localStorage.
 */
export type WallLayout = 1 | 4 | 9;
export const LAYOUTS: readonly WallLayout[] = [1, 4, 9];

export interface WallTile {
  device: string | null;
  /** A pinned tile keeps its camera when an alert comes. */
  pinned?: boolean;
  /** The alert that put this camera here (shown on the tile until someone changes it). */
  alert?: { id: string; rule: string };
  /** When this tile got its camera (ms): the oldest is replaced first. */
  since: number;
}

export interface WallState {
  layout: WallLayout;
  tiles: WallTile[];
}

const LAYOUT_KEY = 'rb.wall.layout';
const tilesKey = (estate: string) => `rb.wall.tiles.${estate}`;

export function readWall(estate: string): WallState {
  let layout: WallLayout = 4;
  let tiles: WallTile[] = [];
  try {
    const l = Number(localStorage.getItem(LAYOUT_KEY));
    if (l === 1 || l === 4 || l === 9) layout = l;
    const raw = JSON.parse(localStorage.getItem(tilesKey(estate)) ?? '[]') as unknown;
    if (Array.isArray(raw)) {
      tiles = raw
        .filter((x): x is { device: unknown; pinned?: unknown } => !!x && typeof x === 'object')
        .slice(0, 9)
        .map((x) => ({ device: typeof x.device === 'string' ? x.device : null, ...(x.pinned === true ? { pinned: true } : {}), since: 0 }));
    }
  } catch {
    // storage disabled or garbage: the defaults
  }
  return { layout, tiles };
}

export function writeWall(estate: string, w: WallState): void {
  try {
    localStorage.setItem(LAYOUT_KEY, String(w.layout));
    localStorage.setItem(tilesKey(estate), JSON.stringify(w.tiles.map((x) => ({ device: x.device, ...(x.pinned ? { pinned: true } : {}) }))));
  } catch {
    // private mode: remembered for this page only
  }
}

/**
 * `layout` tiles: those kept, then the cameras not shown yet, in the order given, for the empty
 * ones. A camera that no longer exists leaves its tile empty only once the list is known (`cameras`).
 */
export function fillTiles(tiles: readonly WallTile[], layout: WallLayout, cameras: readonly string[] | undefined): WallTile[] {
  const known = cameras ? new Set(cameras) : null;
  const out: WallTile[] = [];
  for (let i = 0; i < layout; i++) {
    const x = tiles[i];
    out.push(x && (!known || x.device === null || known.has(x.device)) ? { ...x } : { device: null, since: 0 });
  }
  if (cameras) {
    const shown = new Set(out.map((x) => x.device));
    const spare = cameras.filter((c) => !shown.has(c));
    for (const x of out) if (x.device === null && spare.length > 0) x.device = spare.shift()!;
  }
  return out;
}

/**
 * Show `device` for `alert`: the tile that shows it already, else the first empty unpinned tile, else
 * the unpinned tile that has shown its camera longest. Unchanged when every tile is pinned.
 */
export function placeAlert(tiles: readonly WallTile[], device: string, alert: { id: string; rule: string } | undefined, now: number): WallTile[] {
  const out = tiles.map((x) => ({ ...x }));
  let i = out.findIndex((x) => x.device === device);
  if (i < 0) i = out.findIndex((x) => !x.pinned && x.device === null);
  if (i < 0) {
    let best = -1;
    for (let k = 0; k < out.length; k++) if (!out[k]!.pinned && (best < 0 || out[k]!.since < out[best]!.since)) best = k;
    i = best;
  }
  if (i < 0) return out;
  const cur = out[i]!;
  out[i] = { device, since: now, ...(cur.device === device && cur.pinned ? { pinned: true } : {}), ...(alert ? { alert } : cur.device === device && cur.alert ? { alert: cur.alert } : {}) };
  return out;
}
