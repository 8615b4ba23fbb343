/**
 * A small, bounded multipart parser (RFC 2046 §5.1.1; form-data per RFC 7578), shared by push-style
 * drivers (ISAPI access gates post `event_log` + `Picture` parts; ANPR cameras post XML + plate JPEG).
 * The body is already size-capped by the push server; parts and header blocks are capped here.
 */
export interface MultipartPart {
  name?: string | undefined;
  contentType?: string | undefined;
  body: Buffer;
}

/** Largest header block of one part. */
const MAX_PART_HEADERS = 8192;

/** The boundary parameter of a multipart Content-Type (RFC 2046: 1 to 70 characters), if any. */
export function multipartBoundary(contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

function headerEnd(raw: Buffer): [number, number] {
  if (raw[0] === 0x0d && raw[1] === 0x0a) return [0, 2];
  if (raw[0] === 0x0a) return [0, 1];
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return [crlf, crlf + 4];
  return lf >= 0 ? [lf, lf + 2] : [-1, -1];
}

/**
 * Split `body` at `boundary`. Tolerates bare LF line ends (some firmware sends them). Returns the
 * parts, or a short reason why the body is not multipart.
 */
export function parseMultipart(body: Buffer, boundary: string, maxParts = 8): MultipartPart[] | string {
  const delim = Buffer.from(`--${boundary}`);
  // A delimiter counts only at the start of the body or of a line (the boundary may occur inside data).
  const find = (from: number): number => {
    for (let i = body.indexOf(delim, from); i >= 0; i = body.indexOf(delim, i + 1)) {
      if (i === 0 || body[i - 1] === 0x0a) return i;
    }
    return -1;
  };
  const parts: MultipartPart[] = [];
  let at = find(0);
  if (at < 0) return 'boundary not found in body';
  for (;;) {
    let pos = at + delim.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts; // close delimiter "--boundary--"
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++; // transport padding
    if (body[pos] === 0x0d) pos++;
    if (body[pos] !== 0x0a) return 'malformed boundary line';
    const next = find(++pos);
    if (next < 0) return 'unterminated part';
    if (parts.length === maxParts) return `more than ${maxParts} parts`;
    let end = next; // the line break before a delimiter belongs to the delimiter
    if (body[end - 1] === 0x0a) end--;
    if (body[end - 1] === 0x0d) end--;
    const raw = body.subarray(pos, Math.max(pos, end));
    // Headers end at the first empty line; a part may have none (it then starts with the empty line).
    const [hEnd, bStart] = headerEnd(raw);
    if (hEnd < 0 || hEnd > MAX_PART_HEADERS) return 'part headers missing or too long';
    const headers = raw.subarray(0, hEnd).toString('latin1');
    parts.push({
      name: /content-disposition:[^\n]*?\bname="?([^";\r\n]*)"?/i.exec(headers)?.[1],
      contentType: /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1]?.trim(),
      body: raw.subarray(bStart),
    });
    at = next;
  }
}
