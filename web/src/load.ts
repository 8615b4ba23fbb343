import { useCallback, useRef, useState } from 'preact/hooks';
import { api, describeError } from './api.js';

export interface Loaded<T> {
  data: T | undefined;
  /** What went wrong on the last load (shown to the user, never swallowed). */
  error: string | null;
  loading: boolean;
  reload: () => Promise<void>;
  set: (update: (prev: T | undefined) => T | undefined) => void;
}

/**
 * GET `path` (null = nothing to load) into component state; `reload` re-fetches. The error is kept as
 * it came and put in words when the caller renders, so a language switch translates it too.
 */
export function useLoad<T>(path: string | null, map: (raw: unknown) => T = (r) => r as T): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(path !== null);
  const gen = useRef(0);
  const pathRef = useRef(path);
  pathRef.current = path;
  const mapRef = useRef(map);
  mapRef.current = map;
  const reload = useCallback(async () => {
    const p = pathRef.current;
    if (p === null) return;
    const mine = ++gen.current;
    setLoading(true);
    try {
      const raw = await api<unknown>(p);
      if (mine !== gen.current) return;
      setData(mapRef.current(raw));
      setError(null);
    } catch (err) {
      if (mine === gen.current) setError(err);
    } finally {
      if (mine === gen.current) setLoading(false);
    }
  }, []);
  return { data, error: error === null ? null : describeError(error), loading, reload, set: (u) => setData((prev) => u(prev)) };
}
