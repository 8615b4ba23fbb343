import type { Logger } from 'pino';

/**
 * One lifecycle for every long-lived part of the hub and the gateway (issue 16, item 5): a name, a
 * `start()` that does the I/O (listen, connect, open, load), and a `stop()` that undoes it.
 * Constructors do no I/O, so building the whole graph cannot fail half-way with files or sockets
 * open; only `start()` can, and the runner then stops what had started.
 */
export interface Service {
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export interface RunnerOptions {
  log: Logger;
  /** Longest one service may take to stop before the runner logs it and goes on (default 15 s). */
  stopTimeoutMs?: number;
}

export interface Runner {
  /** Start every service in order; if one fails, stop those already started (reverse order) and throw its error. */
  start(): Promise<void>;
  /** Stop the started services in reverse order. A failure or a timeout is logged, never stops the others. Idempotent. */
  stop(): Promise<void>;
  /** Names of the services running now, in start order. */
  running(): string[];
}

/** A service from two functions (a listener, a subscription, a timer). */
export function service(name: string, start: () => Promise<void> | void, stop: () => Promise<void> | void = () => undefined): Service {
  return { name, start, stop };
}

/**
 * The one runner: starts in order, stops in reverse. Grafana's and Home Assistant's startup work the
 * same way (a dependency order fixed by the composition root, reverse on shutdown); there is no
 * dependency solver here on purpose: the order is the list, read top to bottom.
 */
export function createRunner(services: readonly Service[], opts: RunnerOptions): Runner {
  const names = new Set<string>();
  for (const s of services) {
    if (names.has(s.name)) throw new Error(`two services are named ${s.name}`);
    names.add(s.name);
  }
  const stopTimeoutMs = opts.stopTimeoutMs ?? 15_000;
  const started: Service[] = [];
  let state: 'idle' | 'starting' | 'started' | 'stopping' | 'stopped' = 'idle';
  let stopping: Promise<void> | undefined;
  let starting: Promise<void> | undefined;
  let stopRequested = false;

  const stopStarted = async (): Promise<void> => {
    for (const s of started.splice(0).reverse()) {
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), stopTimeoutMs);
        timer.unref();
      });
      try {
        const outcome = await Promise.race([Promise.resolve().then(() => s.stop()), timedOut]);
        if (outcome === 'timeout') opts.log.error({ service: s.name, ms: stopTimeoutMs }, 'service did not stop in time; going on');
        else opts.log.debug({ service: s.name, ms: Date.now() - t0 }, 'service stopped');
      } catch (err) {
        opts.log.error({ err, service: s.name }, 'service failed to stop');
      } finally {
        clearTimeout(timer);
      }
    }
  };

  return {
    start() {
      if (state !== 'idle') return Promise.reject(new Error(`cannot start: the services are ${state}`));
      state = 'starting';
      starting = (async () => {
        for (const s of services) {
          // A stop() during start (SIGTERM while the hub comes up): start nothing more.
          if (stopRequested) throw new Error(`stopped while starting, before ${s.name}`);
          const t0 = Date.now();
          try {
            await s.start();
          } catch (err) {
            opts.log.error({ err, service: s.name }, 'service failed to start; stopping the ones started');
            await stopStarted();
            state = 'stopped';
            throw err;
          }
          started.push(s);
          opts.log.debug({ service: s.name, ms: Date.now() - t0 }, 'service started');
        }
        state = 'started';
      })();
      return starting;
    },
    stop() {
      if (state === 'idle') {
        state = 'stopped';
        return Promise.resolve();
      }
      stopRequested = true;
      stopping ??= (async () => {
        await starting?.catch(() => undefined);
        state = 'stopping';
        await stopStarted();
        state = 'stopped';
      })();
      return stopping;
    },
    running: () => started.map((s) => s.name),
  };
}
