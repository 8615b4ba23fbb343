/**
 * Run `work` now and then every `everyMs`, one run at a time: `run()` while a run is in progress
 * joins it instead of starting another. `stop()` ends the timer and waits for the run in progress (so
 * a database can close after it). `work` reports its own failures; a rejection here would be unhandled.
 */
export interface Periodic<T> {
  run(): Promise<T>;
  stop(): Promise<void>;
}

export function startPeriodic<T>(work: () => Promise<T>, everyMs: number): Periodic<T> {
  let running: Promise<T> | undefined;
  const run = (): Promise<T> => (running ??= work().finally(() => (running = undefined)));
  const timer = setInterval(() => void run(), everyMs);
  timer.unref();
  void run();
  return {
    run,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
