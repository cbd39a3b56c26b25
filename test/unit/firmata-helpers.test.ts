import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../firmware-bridge/backoff.ts';
import { SerialQueue } from '../../firmware-bridge/firmata/serial-queue.ts';

describe('backoffDelay', () => {
  it('doubles from minMs up to maxMs, jittered between half and all of it', () => {
    const opts = { minMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, opts, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, opts, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
  });
});

describe('SerialQueue', () => {
  it('runs one task at a time, in order, even when one fails', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const task = (name: string, fail = false) => async () => {
      log.push(`${name}+`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`${name}-`);
      if (fail) throw new Error(name);
    };
    const results = await Promise.allSettled([q.run(task('a')), q.run(task('b', true)), q.run(task('c'))]);
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(q.pending).toBe(0);
  });
});
