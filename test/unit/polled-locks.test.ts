import { describe, expect, it } from 'vitest';
import { lockId } from '../../firmware-bridge/lockboard/lock-id.ts';
import { PolledLocks } from '../../firmware-bridge/lockboard/polled-locks.ts';
import type { BoardReading, LockReading } from '../../firmware-bridge/lockboard/protocol.ts';
import type { DoorEdge, ItemChange } from '../../firmware-bridge/ports.ts';

const reading = (board: number, locks: LockReading[]): BoardReading => ({ board, locks });
const shut = (channel: number, itemPresent?: boolean): LockReading => ({ channel, locked: true, ...(itemPresent === undefined ? {} : { itemPresent }) });
const open = (channel: number, itemPresent?: boolean): LockReading => ({ channel, locked: false, ...(itemPresent === undefined ? {} : { itemPresent }) });

function polled(reportsItems = true) {
  const locks = new PolledLocks(reportsItems, (error) => { throw error; });
  const edges: DoorEdge[] = [];
  const items: ItemChange[] = [];
  locks.doors.onEdge((e) => edges.push(e));
  locks.items?.onChange((c) => items.push(c));
  return { locks, edges, items };
}

describe('what the polls say about each lock', () => {
  it('the first reading sets the state without an edge; a change is one edge, told only on announce', () => {
    const { locks, edges } = polled(false);
    const channels = new Set([1, 2]);
    locks.announce(locks.take(3, channels, [reading(3, [shut(1), shut(2)])], 1000));
    expect(locks.doors.isOpen(lockId(3, 1))).toBe(false);
    expect(edges).toEqual([]);
    const changes = locks.take(3, channels, [reading(3, [open(1), shut(2)])], 2000);
    expect(locks.doors.isOpen(lockId(3, 1))).toBe(true); // current before anyone is told
    expect(edges).toEqual([]);
    locks.announce(changes);
    expect(edges).toEqual([{ sensor: lockId(3, 1), open: true, at: 2000 }]);
  });

  it('a poll that changes nothing reports nothing (and the same, shared, empty answer)', () => {
    const { locks } = polled();
    const channels = new Set([1, 2]);
    locks.take(1, channels, [reading(1, [shut(1, false), shut(2, true)])], 0);
    const first = locks.take(1, channels, [reading(1, [shut(1, false), shut(2, true)])], 1);
    const second = locks.take(1, channels, [reading(1, [shut(1, false), shut(2, true)])], 2);
    expect(first).toEqual({ uncovered: [], edges: [], items: [] });
    expect(second).toBe(first);
  });

  it('item sensors change on their own, and only where the board reports them', () => {
    const { locks, edges, items } = polled();
    const channels = new Set([5]);
    locks.take(2, channels, [reading(2, [shut(5, false)])], 0);
    locks.announce(locks.take(2, channels, [reading(2, [shut(5, true)])], 10));
    expect(items).toEqual([{ lockId: lockId(2, 5), present: true, at: 10 }]);
    expect(edges).toEqual([]);
    expect(locks.items?.isPresent(lockId(2, 5))).toBe(true);
    expect(polled(false).locks.items).toBeUndefined();
  });

  it('names the configured channels the replies left out, ascending, even when another is reported twice', () => {
    const { locks } = polled(false);
    const channels = new Set([4, 1, 3]);
    expect(locks.take(1, channels, [reading(1, [shut(1), shut(1), shut(2), shut(9)])], 0).uncovered).toEqual([3, 4]);
    expect(locks.take(1, channels, [reading(1, [shut(1)]), reading(1, [shut(3), shut(4)])], 1).uncovered).toEqual([]);
    // Two readings of one channel are not two channels.
    expect(locks.take(1, channels, [reading(1, [shut(1), shut(1), shut(3)])], 2).uncovered).toEqual([4]);
    expect(locks.doors.isOpen(lockId(1, 2))).toBeNull(); // not configured: never tracked
  });
});
