import type { StateChange } from './types.js';

export interface Coalescer {
  push(change: StateChange): void;
  /** Drop what waits and stop the timers. */
  stop(): void;
}

/**
 * At most one emission per (estate, kind, key) per `windowMs`, last value wins: the first change of
 * a quiet key goes out at once; changes inside the window wait and only the newest goes out when the
 * window ends (which opens a new window). `windowMs` 0 emits everything.
 */
export function createCoalescer(windowMs: number, emit: (change: StateChange) => void): Coalescer {
  const windows = new Map<string, { timer: NodeJS.Timeout; pending?: StateChange | undefined }>();

  function open(id: string): void {
    const timer = setTimeout(() => {
      const w = windows.get(id);
      windows.delete(id);
      if (w?.pending) {
        emit(w.pending);
        open(id);
      }
    }, windowMs);
    timer.unref?.();
    windows.set(id, { timer });
  }

  return {
    push(change) {
      if (windowMs <= 0) return emit(change);
      const id = `${change.estate}\u0000${change.kind}\u0000${change.key}`;
      const w = windows.get(id);
      if (w) {
        w.pending = change;
        return;
      }
      emit(change);
      open(id);
    },
    stop() {
      for (const w of windows.values()) clearTimeout(w.timer);
      windows.clear();
    },
  };
}
