import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * The one way device XML is read (ISAPI pushes and answers, ANPR alerts, ONVIF SOAP and discovery,
 * and the simulators' request bodies). Device input is never trusted:
 *  - size capped before any parsing (the caller's transport cap may be larger);
 *  - no DTD: a DOCTYPE or ENTITY declaration is refused whole — no device sends one, and it is the
 *    XXE / entity-expansion ("billion laughs") vector; entity processing is off besides;
 *  - depth capped, and parse first, validate second: the parser stops at `maxDepth` at once, while
 *    the validator alone walks any depth (a 9k-deep 63 KB document blocked the event loop for ~70 ms;
 *    test/devices/hostile), so it only ever sees a shallow document;
 *  - values stay strings (no number guessing), namespace prefixes are dropped.
 * Fault details never quote the input: it may hold a card number or a plate.
 */
export type XmlDoc = Record<string, unknown>;

export type XmlFault = 'too-large' | 'doctype' | 'not-xml' | 'too-deep' | 'malformed';

export type XmlResult = { ok: true; doc: XmlDoc } | { ok: false; fault: XmlFault; detail: string };

export interface SafeXmlOptions {
  /** Largest document read, bytes. */
  maxBytes: number;
  /** Deepest element nesting accepted. */
  maxDepth: number;
  /** Keep attributes, as `@name` keys (default: dropped). */
  attributes?: boolean;
  /** Elements always read as arrays, so one and many parse alike. */
  isArray?: (name: string) => boolean;
}

const DTD = /<!DOCTYPE|<!ENTITY/i;

export const isXmlDoc = (v: unknown): v is XmlDoc => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A reader for one kind of document. Input may carry a BOM and surrounding white space. */
export function safeXmlReader(o: SafeXmlOptions): (input: Buffer | string) => XmlResult {
  const parser = new XMLParser({
    ignoreAttributes: !o.attributes,
    ...(o.attributes && { attributeNamePrefix: '@', parseAttributeValue: false }),
    removeNSPrefix: true,
    parseTagValue: false,
    processEntities: false,
    htmlEntities: false,
    maxNestedTags: o.maxDepth,
    ...(o.isArray && { isArray: o.isArray }),
  });
  const fail = (fault: XmlFault, detail: string): XmlResult => ({ ok: false, fault, detail });

  return (input) => {
    const bytes = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
    if (bytes > o.maxBytes) return fail('too-large', `XML of ${bytes} bytes, more than ${o.maxBytes}`);
    const text = (typeof input === 'string' ? input : input.toString('utf8')).replace(/^\uFEFF/, '').trim();
    if (DTD.test(text)) return fail('doctype', 'DTD / entity declarations are refused');
    if (!text.startsWith('<')) return fail('not-xml', 'body is not XML');
    let doc: unknown;
    try {
      doc = parser.parse(text);
    } catch (err) {
      const deep = err instanceof Error && /nested/i.test(err.message);
      return deep ? fail('too-deep', `nested deeper than ${o.maxDepth} elements`) : fail('malformed', 'malformed XML');
    }
    if (XMLValidator.validate(text) !== true) return fail('malformed', 'malformed XML');
    return isXmlDoc(doc) ? { ok: true, doc } : fail('not-xml', 'no document element');
  };
}
