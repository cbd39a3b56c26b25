import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FleetChanges, type FleetFrame } from '../../admin-api/fleet/fleet-changes.ts';
import { FleetState } from '../../admin-api/fleet/fleet-state.ts';

const event = (seq: number) => ({ seq, bootId: 'b', id: `e-${seq}`, ts: new Date(seq).toISOString(), type: 'door.opened', data: {} });

describe('the live stream coalesces changes', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a burst of changes becomes at most one frame per 100 ms, each cabinet once, as it is now', () => {
    const state = new FleetState();
    const changes = new FleetChanges(state, { intervalMs: 100 });
    changes.start();
    const frames: FleetFrame[] = [];
    changes.subscribe((f) => frames.push(f));
    state.applyEvent('A', event(1));
    vi.advanceTimersByTime(0);
    expect(frames).toHaveLength(1); // the first change after a quiet spell goes out at once
    for (let seq = 2; seq <= 500; seq++) {
      state.applyEvent('A', event(seq));
      state.applyEvent('B', event(seq));
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(100);
    expect(frames.length).toBeLessThanOrEqual(1 + Math.ceil(600 / 100));
    const last = frames.at(-1)!;
    expect(last.cabinets.map((c) => [c.id, c.lastEvent?.seq])).toEqual([['A', 500], ['B', 500]]);
    expect(last.summary.cabinets).toBe(2);
    changes.stop();
  });

  it('nothing is collected while no one listens', () => {
    const state = new FleetState();
    const changes = new FleetChanges(state);
    changes.start();
    state.applyEvent('A', event(1));
    const frames: FleetFrame[] = [];
    changes.subscribe((f) => frames.push(f));
    vi.advanceTimersByTime(1000);
    expect(frames).toHaveLength(0);
    changes.stop();
  });
});
