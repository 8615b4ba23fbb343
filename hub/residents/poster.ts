import { existsSync } from 'node:fs';
import type PDFKit from 'pdfkit';
import type QRCodes from 'qrcode';
import type Sharp from 'sharp';
import { lazyRequire } from '../../lib/lazy.js';
import { RbError } from '../errors.js';

const PDFDocument = lazyRequire<typeof PDFKit>('pdfkit');
const QRCode = lazyRequire<typeof QRCodes>('qrcode');
const sharp = lazyRequire<typeof Sharp>('sharp');

/**
 * The estate's printable A4 poster (issue 19): its name in Chinese, 扫码报事 Scan to report, the QR code
 * of {notify.publicUrl}/r/{estate} and three short steps. PNG (an SVG rendered by sharp/librsvg, text
 * in the fontconfig family below) and PDF (pdfkit, the font file residents.posterFont embedded).
 */
export interface PosterInput {
  estateName: string;
  /** What the QR code holds: {publicUrl}/r/{estate}. */
  url: string;
  /** residents.posterFont: a TTF/TTC with CJK glyphs. */
  fontFile: string;
}

/** The family of fonts-wqy-microhei, for the PNG (fontconfig finds it by name). */
export const POSTER_FONT_FAMILY = 'WenQuanYi Micro Hei';
/** The face inside the TTC (PDF). */
const TTC_FACE = 'WenQuanYiMicroHei';

const STEPS: [string, string][] = [
  ['1. 用手机扫描二维码', '1. Scan the code with your phone'],
  ['2. 选择类别，填写楼栋和情况，可附照片', '2. Pick a category, say where and what; add photos'],
  ['3. 保存跟进链接，查看进度并评价', '3. Keep the follow link: see progress, rate the result'],
];
const EMERGENCY: [string, string] = ['紧急情况请拨打 110 / 119 / 120', 'Emergencies: call 110 / 119 / 120'];

/** The QR modules of `url` (error correction M: survives a smudge, stays coarse enough to print). */
function qrModules(url: string): { size: number; dark: (row: number, col: number) => boolean } {
  const qr = QRCode().create(url, { errorCorrectionLevel: 'M' });
  return { size: qr.modules.size, dark: (r, c) => qr.modules.get(r, c) === 1 };
}

function checkFont(fontFile: string): void {
  if (!existsSync(fontFile)) {
    throw new RbError('RB_ERR_INTERNAL', `the poster font ${fontFile} is missing (residents.posterFont): install fonts-wqy-microhei, or set residents.posterFont to a TTF/TTC font with Chinese glyphs`);
  }
}

const xml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
/** A long name is set smaller so it fits the width (CJK glyphs are about one em wide). */
const nameSize = (name: string, width: number, max: number): number => Math.max(24, Math.min(max, Math.floor(width / Math.max(1, [...name].length))));

/** A4 at 150 dpi: 1240 × 1754 px. */
export const POSTER_PX = { width: 1240, height: 1754 } as const;

export function posterSvg(input: Omit<PosterInput, 'fontFile'>): string {
  const { width: W, height: H } = POSTER_PX;
  const qr = qrModules(input.url);
  const quiet = 4;
  const side = 760;
  const cell = side / (qr.size + quiet * 2);
  const qx = (W - side) / 2;
  const qy = 560;
  let path = '';
  for (let r = 0; r < qr.size; r++) {
    for (let c = 0; c < qr.size; c++) if (qr.dark(r, c)) path += `M${(qx + (c + quiet) * cell).toFixed(2)} ${(qy + (r + quiet) * cell).toFixed(2)}h${cell.toFixed(2)}v${cell.toFixed(2)}h-${cell.toFixed(2)}z`;
  }
  const t = (x: number, y: number, size: number, text: string, extra = '') =>
    `<text x="${x}" y="${y}" font-size="${size}" text-anchor="middle" font-family="${POSTER_FONT_FAMILY}, sans-serif"${extra}>${xml(text)}</text>`;
  const steps = STEPS.map(([zh, en], i) => t(W / 2, 1480 + i * 70, 34, zh) + t(W / 2, 1480 + i * 70 + 30, 22, en, ' fill="#57534e"')).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<rect width="${W}" height="${H}" fill="#fff"/><rect width="${W}" height="40" fill="#b91c1c"/>
${t(W / 2, 220, nameSize(input.estateName, W - 160, 120), input.estateName, ' font-weight="bold" fill="#1c1917"')}
${t(W / 2, 380, 110, '扫码报事', ' font-weight="bold" fill="#b91c1c"')}
${t(W / 2, 460, 52, 'Scan to report', ' fill="#57534e"')}
<rect x="${qx - 6}" y="${qy - 6}" width="${side + 12}" height="${side + 12}" fill="none" stroke="#d6d3d1" stroke-width="3"/>
<path d="${path}" fill="#000"/>
${t(W / 2, qy + side + 60, 24, input.url, ' fill="#57534e"')}
${steps}
${t(W / 2, 1720, 28, `${EMERGENCY[0]}  ${EMERGENCY[1]}`, ' fill="#b91c1c"')}
</svg>`;
}

export async function posterPng(input: PosterInput): Promise<Buffer> {
  checkFont(input.fontFile);
  return sharp()(Buffer.from(posterSvg(input)), { density: 72 }).png({ compressionLevel: 9 }).toBuffer();
}

export async function posterPdf(input: PosterInput): Promise<Buffer> {
  checkFont(input.fontFile);
  const doc = new (PDFDocument())({ size: 'A4', margin: 0, info: { Title: `${input.estateName} 扫码报事`, Creator: 'Red Butler' } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });
  try {
    doc.registerFont('cjk', input.fontFile, TTC_FACE);
    doc.font('cjk');
  } catch (err) {
    throw new RbError('RB_ERR_INTERNAL', `the poster font ${input.fontFile} could not be loaded (residents.posterFont): ${(err as Error).message}`);
  }
  const W = doc.page.width;
  const center = (text: string, y: number, size: number, color = '#1c1917') => doc.fillColor(color).fontSize(size).text(text, 30, y, { width: W - 60, align: 'center', lineBreak: false });
  doc.rect(0, 0, W, 12).fill('#b91c1c');
  center(input.estateName, 70, nameSize(input.estateName, W - 80, 44));
  center('扫码报事', 140, 40, '#b91c1c');
  center('Scan to report', 192, 20, '#57534e');
  const qr = qrModules(input.url);
  const side = 340;
  const cell = side / (qr.size + 8);
  const qx = (W - side) / 2;
  const qy = 240;
  for (let r = 0; r < qr.size; r++) for (let c = 0; c < qr.size; c++) if (qr.dark(r, c)) doc.rect(qx + (c + 4) * cell, qy + (r + 4) * cell, cell + 0.05, cell + 0.05);
  doc.fillColor('#000').fill();
  doc.rect(qx - 3, qy - 3, side + 6, side + 6).lineWidth(1.5).strokeColor('#d6d3d1').stroke();
  center(input.url, qy + side + 16, 11, '#57534e');
  STEPS.forEach(([zh, en], i) => {
    center(zh, 650 + i * 44, 16);
    center(en, 650 + i * 44 + 20, 11, '#57534e');
  });
  center(`${EMERGENCY[0]}  ${EMERGENCY[1]}`, 800, 13, '#b91c1c');
  doc.end();
  await ended;
  return Buffer.concat(chunks);
}
