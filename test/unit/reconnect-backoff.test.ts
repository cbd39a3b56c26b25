import { describe, expect, it } from 'vitest';
import { backoffDelay, FLEET_BACKOFF } from '../../simulator/reconnect-backoff.ts';

// A thousand simulated cabinets that lost their broker at the same moment: when does each try again?

const CLIENTS = 1000;
const delaysAt = (attempt: number) => Array.from({ length: CLIENTS }, () => backoffDelay(attempt));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('the reconnect delay of a simulated cabinet', () => {
  it('spreads many clients over the window instead of bringing them back in lockstep', () => {
    for (const attempt of [0, 3, 10]) {
      const delays = delaysAt(attempt);
      // Nearly every client picks its own moment...
      expect(new Set(delays).size).toBeGreaterThan(CLIENTS * 0.3);
      // ...over the whole window: no tenth of it holds more than a fifth of the clients.
      const ceiling = Math.min(FLEET_BACKOFF.maxMs, FLEET_BACKOFF.baseMs * 2 ** attempt);
      const buckets = Array.from({ length: 10 }, () => 0);
      for (const d of delays) buckets[Math.min(9, Math.floor(((d - FLEET_BACKOFF.floorMs) / (ceiling - FLEET_BACKOFF.floorMs)) * 10))]!++;
      expect(Math.max(...buckets)).toBeLessThan(CLIENTS * 0.2);
    }
  });

  it('grows with each failed attempt, up to its cap, and never retries at once', () => {
    const means = [0, 1, 2, 3, 4, 5, 6, 10, 40].map((attempt) => mean(delaysAt(attempt)));
    for (let i = 1; i <= 5; i++) expect(means[i]!).toBeGreaterThan(means[i - 1]! * 1.5);
    // Capped: from about the 5th attempt on, the window stays 30 s.
    expect(Math.abs(means.at(-1)! - means.at(-2)!)).toBeLessThan(FLEET_BACKOFF.maxMs * 0.1);
    for (const attempt of [0, 1, 5, 40, 1000]) {
      for (const d of delaysAt(attempt)) {
        expect(d).toBeGreaterThanOrEqual(FLEET_BACKOFF.floorMs);
        expect(d).toBeLessThanOrEqual(FLEET_BACKOFF.maxMs);
      }
    }
  });

  it('follows the injected randomness (the bounds at 0 and 1)', () => {
    expect(backoffDelay(0, () => 0)).toBe(FLEET_BACKOFF.floorMs);
    expect(backoffDelay(0, () => 1)).toBe(FLEET_BACKOFF.baseMs);
    expect(backoffDelay(3, () => 1)).toBe(FLEET_BACKOFF.baseMs * 8);
    expect(backoffDelay(99, () => 1)).toBe(FLEET_BACKOFF.maxMs);
  });
});
