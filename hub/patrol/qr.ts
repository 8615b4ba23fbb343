import type PDFKit from 'pdfkit';
import type QRCodes from 'qrcode';
import { lazyRequire } from '../../lib/lazy.js';

const PDFDocument = lazyRequire<typeof PDFKit>('pdfkit');
const QRCode = lazyRequire<typeof QRCodes>('qrcode');

/**
 * Printable QR codes of patrol checkpoints: one PNG per checkpoint, and an A4 sheet (PDF) of an
 * estate's checkpoints to print, cut and stick up. The code carries `{base}/p/{code}`: the phone
 * view's scanner reads the code from it, and a phone's own camera app opens the patrol tab with it.
 */

/** The CJK font the sheet is set in (Debian fonts-wqy-microhei; scripts/ensure-deps.sh installs it). */
export const CJK_FONT_FILE = '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc';
const CJK_FONT_NAME = 'WenQuanYiMicroHei';

export const checkpointUrl = (base: string, code: string): string => `${base.replace(/\/+$/, '')}/p/${code}`;

/** A QR code PNG of `url`: error correction M (a scratched sticker still reads), `width` pixels. */
export function qrPng(url: string, width = 512): Promise<Buffer> {
  return QRCode().toBuffer(url, { type: 'png', errorCorrectionLevel: 'M', margin: 4, width });
}

export interface SheetItem {
  name: string;
  location: string;
  code: string;
  url: string;
}

/** Cards per A4 page: 2 columns × 3 rows, each a QR code with the checkpoint's name, place and code. */
const COLS = 2;
const ROWS = 3;

export async function qrSheetPdf(title: string, items: readonly SheetItem[], printedAt: string): Promise<Buffer> {
  const doc = new (PDFDocument())({ size: 'A4', margin: 36, info: { Title: title, Creator: 'Red Butler' } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.registerFont('cjk', CJK_FONT_FILE, CJK_FONT_NAME);
  doc.font('cjk');
  const pageW = doc.page.width - 72;
  const top = 36 + 40;
  const cellW = pageW / COLS;
  const cellH = (doc.page.height - top - 36) / ROWS;
  const qrSize = Math.min(cellW, cellH) - 70;
  const header = (): void => {
    doc.fontSize(16).fillColor('#000').text(title, 36, 36, { width: pageW, lineBreak: false });
    doc.fontSize(9).fillColor('#555').text(printedAt, 36, 58, { width: pageW, lineBreak: false });
  };
  header();
  if (items.length === 0) doc.fontSize(12).fillColor('#000').text('—', 36, top);
  for (const [i, item] of items.entries()) {
    const slot = i % (COLS * ROWS);
    if (i > 0 && slot === 0) {
      doc.addPage();
      header();
    }
    const x = 36 + (slot % COLS) * cellW;
    const y = top + Math.floor(slot / COLS) * cellH;
    doc.rect(x + 4, y + 4, cellW - 8, cellH - 8).dash(3, { space: 3 }).strokeColor('#999').stroke().undash();
    doc.image(await qrPng(item.url, 600), x + (cellW - qrSize) / 2, y + 10, { width: qrSize, height: qrSize });
    doc.fillColor('#000').fontSize(14).text(item.name, x + 10, y + qrSize + 14, { width: cellW - 20, align: 'center', height: 18, ellipsis: true });
    doc.fillColor('#333').fontSize(9).text(item.location, x + 10, y + qrSize + 34, { width: cellW - 20, align: 'center', height: 12, ellipsis: true });
    doc.fillColor('#555').fontSize(9).text(item.code, x + 10, y + qrSize + 48, { width: cellW - 20, align: 'center', lineBreak: false });
  }
  doc.end();
  return done;
}
