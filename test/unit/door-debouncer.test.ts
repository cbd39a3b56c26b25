import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DoorDebouncer, type DebouncedEdge } from '../../firmware-bridge/firmata/door-debouncer.ts';

describe('DoorDebouncer (leading edge, then a settle window)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function debouncer(ms = 20) {
    const edges: DebouncedEdge[] = [];
    const d = new DoorDebouncer([26, 27], ms, (e) => edges.push(e), () => Date.now());
    return { d, edges };
  }

  it('the first reading is learned without an edge', () => {
    const { d, edges } = debouncer();
    expect(d.level(26)).toBeNull();
    d.sample(26, true);
    expect(d.level(26)).toBe(true);
    expect(edges).toEqual([]);
    expect(d.level(99)).toBeUndefined();
  });

  it('a door that opens is reported at once, without waiting for a hold time', () => {
    const { d, edges } = debouncer(20);
    d.sample(26, false);
    const seenAt = Date.now();
    d.sample(26, true);
    expect(edges).toEqual([{ sensor: 26, open: true, at: seenAt }]);
    expect(d.level(26)).toBe(true);
  });

  it('contact bounce inside the settle window gives one edge, not a chatter of edges', () => {
    const { d, edges } = debouncer(20);
    d.sample(26, false);
    d.sample(26, true);
    for (let i = 0; i < 6; i++) {
      vi.advanceTimersByTime(2);
      d.sample(26, i % 2 === 0 ? false : true);
    }
    vi.advanceTimersByTime(100);
    expect(edges.map((e) => e.open)).toEqual([true]);
    expect(d.level(26)).toBe(true);
  });

  it('a level that changed back during the settle window is reported when the window ends', () => {
    const { d, edges } = debouncer(20);
    d.sample(26, false);
    d.sample(26, true);
    vi.advanceTimersByTime(5);
    d.sample(26, false); // a glitch, or a door slammed shut at once
    expect(edges.map((e) => e.open)).toEqual([true]);
    vi.advanceTimersByTime(15);
    expect(edges.map((e) => e.open)).toEqual([true, false]);
    expect(d.level(26)).toBe(false);
  });

  it('sensors settle independently', () => {
    const { d, edges } = debouncer(20);
    d.sample(26, false);
    d.sample(27, false);
    d.sample(26, true);
    d.sample(27, true);
    expect(edges.map((e) => e.sensor)).toEqual([26, 27]);
  });

  it('a fresh reading after a reconnect is taken at once and returns the edge for a door that moved', () => {
    const { d, edges } = debouncer(20);
    d.sample(26, false);
    d.sample(26, true);
    d.sample(26, false); // settling when the link went away
    d.cancelPending();
    vi.advanceTimersByTime(100);
    expect(edges.map((e) => e.open)).toEqual([true]);
    expect(d.learn(26, false)).toMatchObject({ sensor: 26, open: false });
    expect(d.learn(26, false)).toBeNull();
    expect(d.learn(27, false)).toBeNull(); // first knowledge is not an edge
  });
});
