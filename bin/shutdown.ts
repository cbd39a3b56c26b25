/**
 * SIGINT and SIGTERM for a `govlocker` command, installed before anything starts, so the command stops in every
 * state: still starting (a fleet whose 5,000th connect is pending), running, or reconnecting to a broker that
 * went away. On the first signal: one line on stderr, `signal` aborts (starts that take it give up), the parts
 * started so far stop in reverse order, then the process exits. A deadline bounds the whole stop (a part that
 * hangs on a dead broker cannot keep the process alive); a second signal exits at once.
 */
export interface Shutdown {
  /** Aborted on the first signal: pass it to long starts so they give up promptly. */
  readonly signal: AbortSignal;
  readonly stopping: boolean;
  /**
   * A part being started: stopped on a signal once it has started (a start that fails or gives up has nothing to
   * stop). Stops run in reverse order of registration. Returns `starting`.
   */
  track<T>(starting: Promise<T>, stop: (part: T) => Promise<void>): Promise<T>;
  /** Stops what has started, for a start that failed; the process goes on to report the failure. */
  stopStarted(): Promise<void>;
  /** Never resolves: after a signal, a command whose start gave up waits here for the exit. */
  exited(): Promise<never>;
}

export interface ShutdownOptions {
  /** `govlocker start`, … in the stderr line. */
  readonly name: string;
  /** The longest a stop may take before the process exits anyway. */
  readonly deadlineMs?: number;
  /**
   * The exit code after a clean stop: 0 for a service (stopping it is how it ends), or `interrupted` for a
   * one-shot command cut short (128 + the signal's number, as a shell reports it).
   */
  readonly exitCode?: 0 | 'interrupted';
  readonly write?: (line: string) => void;
  readonly exit?: (code: number) => void;
  readonly process?: Pick<NodeJS.Process, 'on'>;
}

export const DEFAULT_STOP_DEADLINE_MS = 4000;
const SIGNAL_NUMBER: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 2, SIGTERM: 15 };

export function handleSignals(o: ShutdownOptions): Shutdown {
  const write = o.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const exit = o.exit ?? ((code: number) => process.exit(code));
  const deadlineMs = o.deadlineMs ?? DEFAULT_STOP_DEADLINE_MS;
  const abort = new AbortController();
  const stops: (() => Promise<void>)[] = [];
  let stopping = false;

  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        write(`${o.name}: a part failed to stop: ${(error as Error).message}`);
      }
    }
  };

  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (stopping) {
      write(`${o.name}: ${signal} again: exiting now`);
      exit(128 + SIGNAL_NUMBER[signal]);
      return;
    }
    stopping = true;
    write(`${o.name}: ${signal}: stopping… (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to exit at once)`);
    abort.abort(new Error(`${signal} received`));
    const watchdog = setTimeout(() => {
      write(`${o.name}: still stopping after ${deadlineMs} ms: exiting anyway`);
      exit(1);
    }, deadlineMs);
    const code = o.exitCode === 'interrupted' ? 128 + SIGNAL_NUMBER[signal] : 0;
    void stopAll().then(() => {
      clearTimeout(watchdog);
      exit(code);
    });
  };
  (o.process ?? process).on('SIGINT', () => onSignal('SIGINT'));
  (o.process ?? process).on('SIGTERM', () => onSignal('SIGTERM'));

  return {
    signal: abort.signal,
    get stopping() {
      return stopping;
    },
    track(starting, stop) {
      let once: Promise<void> | null = null;
      stops.push(() => (once ??= starting.then((part) => stop(part), () => undefined)));
      return starting;
    },
    stopStarted: stopAll,
    exited: () => new Promise<never>(() => undefined),
  };
}
