/**
 * Re-posting an event until the gateway takes it, as the devices do: a Hikvision controller in HTTP
 * listening mode keeps an event it could not deliver and sends it again, with the same serialNo and
 * time, until it gets a 200; a ZKTeco controller in ADMS mode keeps its rtlog records until the
 * server answers "OK" (the server is expected to drop the ones it already has). The gateway makes
 * the same event id of the same device serial number and time, so a re-post of an event it had
 * already queued is stored once.
 *
 * Worth a re-post: no answer at all (connection refused or reset, timeout: the gateway restarting)
 * and answers that say "not now" (408, 429, 5xx, e.g. 503 when it could not queue the event). Any
 * other refusal (400 bad event, 403, 404 wrong path) would be refused again: it is final.
 */
export interface RepostOptions {
  /** The run is over (Ctrl+C): stop re-posting, the event counts as not taken. */
  signal?: AbortSignal | undefined;
  /** Give up on an event this long after its first post, ms. */
  giveUpAfterMs: number;
  /** First pause between posts, doubled after each failure up to `maxDelayMs`. Default 250 ms / 5 s. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Called before each re-post (for counting). */
  onRepost?: () => void;
}

export interface Answer {
  status: number;
  body: string;
}

export const worthRepost = (a: Answer): boolean => a.status === 408 || a.status === 429 || a.status >= 500;

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * `post` until `accepted` says yes, a refusal is final, or the options say stop. Resolves with the
 * last answer; rejects with the last error when the last try had no answer.
 */
export async function postUntilAccepted<A extends Answer>(post: () => Promise<A>, accepted: (a: A) => boolean, o: RepostOptions): Promise<A> {
  const giveUpAt = Date.now() + o.giveUpAfterMs;
  let delay = o.minDelayMs ?? 250;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) o.onRepost?.();
    let answer: A | undefined;
    let error: unknown;
    try {
      answer = await post();
      if (accepted(answer) || !worthRepost(answer)) return answer;
    } catch (err) {
      error = err;
    }
    if (o.signal?.aborted || Date.now() + delay > giveUpAt) {
      if (answer) return answer;
      throw error;
    }
    await pause(delay, o.signal);
    if (o.signal?.aborted) {
      if (answer) return answer;
      throw error;
    }
    delay = Math.min(delay * 2, o.maxDelayMs ?? 5_000);
  }
}
