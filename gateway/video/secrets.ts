/**
 * Small helpers of the video relay: the RTSP address with the camera's login in it (for ffmpeg only),
 * the redaction every log line and error message about a stream goes through, and the durations of
 * the `video.*` keys.
 */

/** `8s`, `1500ms`, `1m` (gateway/config.ts checks the form) in ms. */
export function videoDurationMs(text: string): number {
  const m = /^([1-9]\d{0,6})(ms|s|m)$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration such as 8s or 1500ms`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'];
}

/**
 * The address ffmpeg opens: the device's rtsp:// URI with `username:password@` put in, each part
 * percent-encoded (a password with `@`, `:` or `/` stays one password; ffmpeg decodes it). A login
 * already in the URI is replaced.
 */
export function rtspUrlWithLogin(uri: string, username?: string, password?: string): string {
  const url = new URL(uri);
  if (url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:') throw new Error(`not an rtsp:// address: ${redactUrl(uri)}`);
  if (username === undefined || username === '') return url.toString();
  // URL's setters percent-encode only some characters; encodeURIComponent covers all of userinfo's.
  const login = `${encodeURIComponent(username)}${password ? `:${encodeURIComponent(password)}` : ''}@`;
  return `${url.protocol}//${login}${url.host}${url.pathname}${url.search}`;
}

/** Any `scheme://user:pass@` in a text, with the login cut out. */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');
}

/**
 * A redactor for one camera's login: URL logins and every spelling of the password (as is and
 * percent-encoded) become `***`. A password of one or two characters is only cut out of URLs
 * (replacing every "1" of a line would make it unreadable, and such a password protects nothing).
 */
export function redactor(password?: string): (text: string) => string {
  const spellings = password && password.length >= 3 ? [...new Set([password, encodeURIComponent(password)])] : [];
  return (text) => {
    let out = redactUrl(text);
    for (const s of spellings) out = out.split(s).join('***');
    return out;
  };
}
