import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LockboardProtocol } from '../simulator/lockboard-protocol.ts';
import type { IdleDriverMessage, IdleDriverTask } from './lockboard-idle-driver.ts';
import { startBenchBus } from './lockboard-bus.ts';

export interface LockboardIdle {
  /** The driver's CPU over the window, in % of one core, and how much of it was in the kernel. */
  readonly cpuPercent: number;
  readonly systemPercent: number;
  /** Fraction of the window the line carried a request or a reply (bytes × 10 bits ÷ baud). */
  readonly busUtilisation: number;
  /** Status queries each board answered per second. */
  readonly pollsPerBoardPerSecond: number;
  readonly windowMs: number;
  readonly requests: number;
  readonly timeouts: number;
}

const WARMUP_MS = 15_000;

// Compiled to dist/bench/*.js by the build; from the sources it runs through tsx's loader.
const script = new URL(import.meta.url.endsWith('.ts') ? './lockboard-idle-driver.ts' : './lockboard-idle-driver.js', import.meta.url);

/**
 * `boards` × `channels` locks, every channel with a door, all shut: the driver polls at its defaults in a child
 * process (its CPU alone), the emulated bus with the line's real timing in this one (the line's busy time).
 * With `floor`, a bare socket makes the same exchanges instead of the driver: the machine's own price for them.
 */
export async function measureLockboardIdle(protocol: LockboardProtocol, boards: readonly number[], channels: number, windowMs: number, options: { floor?: boolean } = {}): Promise<LockboardIdle> {
  const doors = boards.flatMap((board) => Array.from({ length: channels }, (_, i) => ({ id: `B${board}-${i + 1}`, board, channel: i + 1 })));
  const bus = await startBenchBus(protocol, doors, { channelsPerBoard: channels });
  // The window opens once start-up is over: V8's memory reducer runs its full collections about 8–9 s after a
  // process's heap stops growing, a one-off cost of starting that a cabinet polling for months never pays again.
  const task: IdleDriverTask = { protocol, port: bus.port, locks: doors.map(({ board, channel }) => ({ board, channel })), warmupMs: WARMUP_MS, windowMs, floor: options.floor ?? false };
  const child = fork(fileURLToPath(script), [JSON.stringify(task)], {
    execArgv: import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    let windowStart = 0;
    const measured = await new Promise<Extract<IdleDriverMessage, { event: 'measured' }>>((resolve, reject) => {
      child.on('message', (message: IdleDriverMessage) => {
        if (message.event === 'measuring') windowStart = performance.now();
        else resolve(message);
      });
      child.once('exit', (code) => reject(new Error(`the driver process exited with ${code} before it measured`)));
    });
    const windowEnd = performance.now();
    const heard = bus.device.log().filter((e) => bus.heardAt(e) >= windowStart && bus.heardAt(e) < windowEnd);
    if (bus.device.log()[0] && bus.heardAt(bus.device.log()[0]!) > windowStart) throw new Error('the bus log does not reach back to the window\'s start');
    const queries = heard.filter((e) => e.request === 'query-board' || e.request === 'query-lock').length;
    const spanMs = windowEnd - windowStart;
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    return {
      cpuPercent: (100 * (measured.userMs + measured.systemMs)) / measured.wallMs,
      systemPercent: (100 * measured.systemMs) / measured.wallMs,
      busUtilisation: heard.reduce((sum, e) => sum + bus.lineMs(e), 0) / spanMs,
      pollsPerBoardPerSecond: queries / boards.length / (spanMs / 1000),
      windowMs: measured.wallMs,
      requests: measured.requests,
      timeouts: measured.timeouts,
    };
  } finally {
    if (child.exitCode === null) child.kill();
    await bus.stop();
  }
}
