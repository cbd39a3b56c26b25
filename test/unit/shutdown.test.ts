import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { handleSignals } from '../../bin/shutdown.ts';

// The signal handling every long-running govlocker command installs first: a process stand-in receives the
// signals, and exit() and stderr are recorded.

function harness(options: { exitCode?: 0 | 'interrupted'; deadlineMs?: number } = {}) {
  const proc = new EventEmitter();
  const lines: string[] = [];
  const exits: number[] = [];
  const shutdown = handleSignals({ name: 'govlocker test', write: (l) => lines.push(l), exit: (c) => exits.push(c), process: proc as unknown as NodeJS.Process, ...options });
  return { proc, lines, exits, shutdown };
}
const tick = () => new Promise((r) => setImmediate(r));

afterEach(() => vi.useRealTimers());

describe('stopping a govlocker command on SIGINT/SIGTERM', () => {
  it('stops what has started in reverse order, says so on stderr, aborts pending starts and exits 0', async () => {
    const { proc, lines, exits, shutdown } = harness();
    const order: string[] = [];
    void shutdown.track(Promise.resolve('simulator'), async (p) => { order.push(p); });
    void shutdown.track(Promise.resolve('broker'), async (p) => { order.push(p); });
    const pending = new Promise<string>((_, reject) => shutdown.signal.addEventListener('abort', () => reject(new Error('gave up'))));
    void shutdown.track(pending, async () => { order.push('never started'); });
    await tick();
    proc.emit('SIGTERM');
    expect(shutdown.signal.aborted).toBe(true);
    await vi.waitFor(() => expect(exits).toEqual([0]));
    expect(order).toEqual(['broker', 'simulator']);
    expect(lines[0]).toMatch(/^govlocker test: SIGTERM: stopping/);
  });

  it('exits anyway after the deadline when a part hangs, and at once on a second signal', async () => {
    vi.useFakeTimers();
    const hung = harness({ deadlineMs: 1000 });
    void hung.shutdown.track(Promise.resolve(1), () => new Promise<void>(() => undefined));
    await Promise.resolve();
    hung.proc.emit('SIGINT');
    await vi.advanceTimersByTimeAsync(999);
    expect(hung.exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(hung.exits).toEqual([1]);
    expect(hung.lines.at(-1)).toMatch(/still stopping after 1000 ms/);

    const twice = harness();
    void twice.shutdown.track(Promise.resolve(1), () => new Promise<void>(() => undefined));
    twice.proc.emit('SIGINT');
    twice.proc.emit('SIGINT');
    expect(twice.exits).toEqual([130]);
  });

  it('reports a one-shot command cut short as interrupted (128 + the signal)', async () => {
    const { proc, exits } = harness({ exitCode: 'interrupted' });
    proc.emit('SIGTERM');
    await vi.waitFor(() => expect(exits).toEqual([143]));
  });
});
