/** `30s`, `15m`, `1h`, `12h`, `7d` → milliseconds; throws on anything else (the message names the value). */
export function parseDuration(text: string): number {
  const m = /^([1-9]\d{0,5})([smhd])$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration such as 30m, 1h, 12h or 7d`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
