// The app's icon, drawn once as data and written twice: as SVG (the favicon browsers prefer) and as
// PNG (192 and 512 px for the web app manifest, 32 px inside favicon.ico for whatever still asks for
// /favicon.ico). Rasterised here with a few lines of geometry and node:zlib, so the build fetches
// nothing and needs no image library: a red tile with a white house (an estate) and its door.
import { Buffer } from 'node:buffer';
import { deflateSync } from 'node:zlib';

const RED = [200, 16, 46];
const WHITE = [255, 255, 255];

/** In a 64×64 box; painted in order, the last shape that covers a point wins. */
const SHAPES = [
  { kind: 'round', x: 0, y: 0, w: 64, h: 64, r: 13, fill: RED },
  { kind: 'poly', points: [[14, 31], [32, 14], [50, 31], [50, 52], [14, 52]], fill: WHITE },
  { kind: 'rect', x: 27, y: 37, w: 10, h: 15, fill: RED },
];

const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

export function iconSvg() {
  const body = SHAPES.map((s) => {
    if (s.kind === 'round') return `<rect x="${s.x}" y="${s.y}" width="${s.w}" height="${s.h}" rx="${s.r}" fill="${hex(s.fill)}"/>`;
    if (s.kind === 'rect') return `<rect x="${s.x}" y="${s.y}" width="${s.w}" height="${s.h}" fill="${hex(s.fill)}"/>`;
    return `<polygon points="${s.points.map((p) => p.join(',')).join(' ')}" fill="${hex(s.fill)}"/>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">${body}</svg>\n`;
}

function inside(s, x, y) {
  if (s.kind === 'rect') return x >= s.x && x < s.x + s.w && y >= s.y && y < s.y + s.h;
  if (s.kind === 'round') {
    if (x < s.x || x >= s.x + s.w || y < s.y || y >= s.y + s.h) return false;
    const cx = Math.min(Math.max(x, s.x + s.r), s.x + s.w - s.r);
    const cy = Math.min(Math.max(y, s.y + s.r), s.y + s.h - s.r);
    return (x - cx) ** 2 + (y - cy) ** 2 <= s.r ** 2;
  }
  // Even-odd ray casting.
  let hit = false;
  const p = s.points;
  for (let i = 0, j = p.length - 1; i < p.length; j = i++) {
    const [xi, yi] = p[i];
    const [xj, yj] = p[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** The icon as an RGBA PNG of `size`×`size`, 4×4 samples per pixel for smooth edges. */
export function iconPng(size) {
  const N = 4;
  const scale = 64 / size;
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let py = 0; py < size; py++) {
    const row = py * (size * 4 + 1);
    raw[row] = 0; // filter: none
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < N; sy++) {
        for (let sx = 0; sx < N; sx++) {
          const x = (px + (sx + 0.5) / N) * scale;
          const y = (py + (sy + 0.5) / N) * scale;
          let fill = null;
          for (const s of SHAPES) if (inside(s, x, y)) fill = s.fill;
          if (fill) {
            r += fill[0];
            g += fill[1];
            b += fill[2];
            a += 1;
          }
        }
      }
      const o = row + 1 + px * 4;
      // Colour averaged over the covered samples (straight alpha), coverage as alpha.
      raw[o] = a ? Math.round(r / a) : 0;
      raw[o + 1] = a ? Math.round(g / a) : 0;
      raw[o + 2] = a ? Math.round(b / a) : 0;
      raw[o + 3] = Math.round((a / (N * N)) * 255);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** A .ico holding one PNG image (ICONDIR + one ICONDIRENTRY; PNG payloads are valid since Vista). */
export function iconIco(size) {
  const png = iconPng(size);
  const head = Buffer.alloc(22);
  head.writeUInt16LE(0, 0); // reserved
  head.writeUInt16LE(1, 2); // type: icon
  head.writeUInt16LE(1, 4); // one image
  head[6] = size >= 256 ? 0 : size;
  head[7] = size >= 256 ? 0 : size;
  head[8] = 0; // no palette
  head[9] = 0;
  head.writeUInt16LE(1, 10); // planes
  head.writeUInt16LE(32, 12); // bits per pixel
  head.writeUInt32LE(png.length, 14);
  head.writeUInt32LE(22, 18); // offset of the image
  return Buffer.concat([head, png]);
}

/** The web app manifest (names in both languages would need two files; the default language wins). */
export function manifest() {
  return `${JSON.stringify(
    {
      name: '红管家 Red Butler',
      short_name: '红管家',
      lang: 'zh-CN',
      start_url: '/',
      scope: '/',
      display: 'standalone',
      background_color: '#0a0f16',
      theme_color: '#c8102e',
      icons: [
        { src: '/favicon.svg', sizes: 'any', type: 'image/svg+xml' },
        { src: '/icon-192.png', sizes: '192x192', type: 'image/png' },
        { src: '/icon-512.png', sizes: '512x512', type: 'image/png' },
      ],
    },
    null,
    2,
  )}\n`;
}

/** Every file the icons add to the built web root, by name. */
export function iconFiles() {
  return {
    'favicon.svg': iconSvg(),
    'favicon.ico': iconIco(32),
    'icon-192.png': iconPng(192),
    'icon-512.png': iconPng(512),
    'apple-touch-icon.png': iconPng(180),
    'manifest.webmanifest': manifest(),
  };
}
