/**
 * The JSON text of a value, encoded once per object: the hub writes an accepted event's text to the
 * event log and again to the push log (hub/eventlog/log.ts, hub/push/log.ts), and encoding it costs
 * more than looking it up. The text is kept on the object itself, under a symbol, not enumerable
 * (JSON.stringify, spreads, Object.keys and deep equality never see it). It is the text of the
 * object as it was when first encoded: the hub never changes an event, status or link once it is
 * appended to the log. Frozen (non-extensible) objects and non-objects are encoded every time.
 */
const TEXT = Symbol('rb.jsonText');

export function jsonText(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const held = (value as { [TEXT]?: string })[TEXT];
  if (held !== undefined) return held;
  const text = JSON.stringify(value);
  if (Object.isExtensible(value)) Object.defineProperty(value, TEXT, { value: text });
  return text;
}
