import { afterEach, describe, expect, it } from 'vitest';
import { HardwareUnavailableError } from '../../firmware-bridge/errors.ts';
import { codec8a80 } from '../../firmware-bridge/lockboard/index.ts';
import { LockBus, zeroCounters } from '../../firmware-bridge/lockboard/bus.ts';
import { lockId } from '../../firmware-bridge/lockboard/lock-id.ts';
import { LockboardBoard, type LockboardBoardOptions } from '../../firmware-bridge/lockboard/lockboard-board.ts';
import { probeBus } from '../../firmware-bridge/lockboard/probe.ts';
import type { DoorEdge, ItemChange, LinkState } from '../../firmware-bridge/ports.ts';
import { ScriptedBus } from '../support/lockboard-peer.ts';

// The bus driver against a scripted wire in memory: the far end hears requests with the codec's board side and
// answers with its encoders, or late, or not at all, or with noise — so queueing, timeouts, retries and the
// input flush are tested without sockets or timers of a device.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const TCP = { kind: 'tcp', host: '127.0.0.1', port: 1 } as const;
const valueOf = <T>(parsed: { ok: true; value: T } | { ok: false; message: string }): T => {
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
};
const lockAt = (board: number, channel: number) => valueOf(codec8a80.parseLockAddress({ board, channel }));
const boardAt = (board: number) => valueOf(codec8a80.parseBoardAddress(board));
let peer: ScriptedBus;
let board: LockboardBoard | null = null;

function start8a80(locks: { board: number; channel: number }[], overrides: Partial<LockboardBoardOptions['bus']> = {}, options: Partial<LockboardBoardOptions> = {}) {
  board = new LockboardBoard({
    bus: { protocol: '8a80', transport: TCP, pollMs: 20, replyMs: 40, openReplyMs: 80, queryRetries: 1, lostAfterPolls: 3, ...overrides } as LockboardBoardOptions['bus'],
    locks,
    openWire: peer.open,
    reconnect: { minMs: 10, maxMs: 50 },
    gapMs: 0,
    ...options,
  });
  return board;
}

afterEach(async () => {
  await board?.stop();
  board = null;
  peer?.stop();
});

describe('LockBus: one transaction at a time', () => {
  it('flushes what arrived between transactions (a late reply) and counts it as stray, then reads the next reply', async () => {
    peer = new ScriptedBus('8a80', [1]);
    let first = true;
    peer.script = () => (first ? ((first = false), { after: 60, bytes: 'default' }) : 'default');
    const counters = zeroCounters();
    const bus = new LockBus(await peer.open(), { tcp: true, counters });
    const query = (channel: number) => {
      const request = codec8a80.queryLock(lockAt(1, channel));
      return { kind: 'query' as const, bytes: codec8a80.encodeRequest(request), reply: codec8a80.expectReply(request) };
    };
    expect((await bus.transact(query(1), 30)).kind).toBe('no-reply');
    await sleep(60); // the late reply lands while nothing is asked
    const second = await bus.transact(query(2), 200);
    expect(second).toMatchObject({ kind: 'reply', value: { kind: 'lock-status', channel: 2, locked: true } });
    expect(counters).toMatchObject({ requests: 2, replies: 1, timeouts: 1, strayBytes: 5 });
    await bus.close('done');
  });

  it('queues transactions in call order: the next request is written only after the reply before it', async () => {
    peer = new ScriptedBus('8a80', [1, 2]);
    peer.script = () => ({ after: 10, bytes: 'default' });
    const counters = zeroCounters();
    const bus = new LockBus(await peer.open(), { tcp: true, counters });
    const status = (b: number) => {
      const request = codec8a80.queryBoard(boardAt(b));
      return { kind: 'query' as const, bytes: codec8a80.encodeRequest(request), reply: codec8a80.expectReply(request) };
    };
    const answers = await Promise.all([1, 2, 1, 2, 1].map((b) => bus.transact(status(b), 200)));
    expect(answers.map((a) => (a.kind === 'reply' ? (a.value as { board: number }).board : a.kind))).toEqual([1, 2, 1, 2, 1]);
    expect(peer.overlaps).toEqual([]);
    expect(peer.heard.map((h) => h.frame)).toEqual(['80 01 00 33 B2', '80 02 00 33 B1', '80 01 00 33 B2', '80 02 00 33 B1', '80 01 00 33 B2']);
    await bus.close('done');
  });

  it('a transaction waiting when the connection closes ends as closed (sent), a queued one is never written', async () => {
    peer = new ScriptedBus('8a80', [1]);
    peer.script = () => null;
    const bus = new LockBus(await peer.open(), { tcp: true, counters: zeroCounters() });
    const request = codec8a80.queryBoard(boardAt(1));
    const tx = { kind: 'query' as const, bytes: codec8a80.encodeRequest(request), reply: codec8a80.expectReply(request) };
    const waiting = bus.transact(tx, 1000);
    const queued = bus.transact(tx, 1000);
    await sleep(10);
    peer.cut();
    expect(await waiting).toEqual({ kind: 'closed', sent: true });
    expect(await queued).toEqual({ kind: 'closed', sent: false });
    expect(peer.heard).toHaveLength(1);
  });
});

describe('LockboardBoard over a scripted 8A/80 bus', () => {
  it('reads every board, reports ok, and knows each door by its lock id', async () => {
    peer = new ScriptedBus('8a80', [1, 2]);
    peer.boards.get(2)!.locked.set(5, false);
    const b = start8a80([{ board: 1, channel: 1 }, { board: 1, channel: 24 }, { board: 2, channel: 5 }]);
    await b.start({ readyTimeoutMs: 2000 });
    expect(b.link).toBe('ok');
    expect(b.doors.isOpen(lockId(1, 1))).toBe(false);
    expect(b.doors.isOpen(lockId(1, 24))).toBe(false);
    expect(b.doors.isOpen(lockId(2, 5))).toBe(true);
    expect(b.doors.isOpen(lockId(2, 6))).toBeNull();
    expect(b.items).toBeUndefined(); // no item sensors on this family
    expect(peer.refused).toEqual([]);
  });

  it('pulse sends exactly one open frame for that lock, and the open edge comes from the status read after it', async () => {
    peer = new ScriptedBus('8a80', [1]);
    const b = start8a80([{ board: 1, channel: 3 }, { board: 1, channel: 4 }]);
    const edges: DoorEdge[] = [];
    b.doors.onEdge((e) => edges.push(e));
    await b.start({ readyTimeoutMs: 2000 });
    await b.locks.pulse(lockId(1, 3));
    expect(peer.opens).toEqual(['8A 01 03 11 99']);
    expect(edges).toEqual([expect.objectContaining({ sensor: lockId(1, 3), open: true })]);
    expect(b.doors.isOpen(lockId(1, 3))).toBe(true);
    // Closing the door is seen by polling.
    peer.boards.get(1)!.locked.set(3, true);
    await until(() => edges.length === 2, 1000, 'the close edge');
    expect(edges[1]).toMatchObject({ sensor: lockId(1, 3), open: false });
    expect(b.stats().opens).toBe(1);
    expect(peer.overlaps).toEqual([]);
  });

  it('an open whose reply is lost is never sent again: it is confirmed by reading the board', async () => {
    peer = new ScriptedBus('8a80', [1]);
    peer.script = (request) => (request.kind === 'open' ? null : 'default');
    const b = start8a80([{ board: 1, channel: 7 }]);
    await b.start({ readyTimeoutMs: 2000 });
    await b.locks.pulse(lockId(1, 7));
    await sleep(100);
    expect(peer.opens).toEqual(['8A 01 07 11 9D']);
    expect(b.doors.isOpen(lockId(1, 7))).toBe(true);
    expect(b.stats()).toMatchObject({ opens: 1, timeouts: 1 });
  });

  it('an open answered by neither its reply nor the read after it rejects as possibly energised, still one frame', async () => {
    peer = new ScriptedBus('8a80', [1]);
    const b = start8a80([{ board: 1, channel: 2 }], { lostAfterPolls: 20 });
    await b.start({ readyTimeoutMs: 2000 });
    peer.script = () => null;
    const error = await b.locks.pulse(lockId(1, 2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HardwareUnavailableError);
    expect((error as HardwareUnavailableError).energised).toBe(true);
    expect(peer.opens).toHaveLength(1);
  });

  it('asks a silent query once more (a retry), then counts a missed poll', async () => {
    peer = new ScriptedBus('8a80', [1]);
    const b = start8a80([{ board: 1, channel: 1 }]);
    await b.start({ readyTimeoutMs: 2000 });
    let silent = 1;
    peer.script = (request) => (request.kind === 'query-board' && silent-- > 0 ? null : 'default');
    await until(() => b.stats().retries >= 1, 1000, 'a retry');
    expect(b.link).toBe('ok');
    expect(b.stats().timeouts).toBeGreaterThanOrEqual(1);
  });

  it('a board that stops answering is lost (no-answer) after a few polls and ok again when it answers; the others go on', async () => {
    peer = new ScriptedBus('8a80', [1, 2]);
    const b = start8a80([{ board: 1, channel: 1 }, { board: 2, channel: 1 }]);
    const links: LinkState[] = [];
    b.onLink((s) => links.push(s));
    await b.start({ readyTimeoutMs: 2000 });
    peer.script = (request) => (request.kind === 'query-board' && request.board.board === 2 ? null : 'default');
    const t0 = performance.now();
    await until(() => b.link === 'lost', 2000, 'lost');
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(b.lastLoss).toMatchObject({ cause: 'no-answer', reason: expect.stringContaining('board 2') });
    await expect(b.locks.pulse(lockId(1, 1))).rejects.toMatchObject({ name: 'HardwareUnavailableError', energised: false });
    // Board 1 is still read meanwhile.
    const edges: DoorEdge[] = [];
    b.doors.onEdge((e) => edges.push(e));
    peer.boards.get(1)!.locked.set(1, false);
    await until(() => edges.length === 1, 1000, 'board 1 still read');
    peer.script = () => 'default';
    await until(() => b.link === 'ok', 2000, 'ok again');
    expect(links).toEqual(['ok', 'lost', 'ok']);
    expect(peer.opens).toEqual([]);
  });

  it('on a bus of many boards that all fall silent, the link is lost within the time a few polls take, not after each board\'s third miss', async () => {
    const addresses = [1, 2, 3, 4, 5, 6, 7, 8];
    peer = new ScriptedBus('8a80', addresses);
    // Budget: 3 × (50 + 2 × 100) = 750 ms. Waiting for board 1's third miss would take about 2.6 s here.
    const b = start8a80(addresses.map((board) => ({ board, channel: 1 })), { pollMs: 50, replyMs: 100 });
    await b.start({ readyTimeoutMs: 2000 });
    peer.script = () => null;
    const t0 = performance.now();
    await until(() => b.link === 'lost', 3000, 'lost');
    expect(performance.now() - t0).toBeLessThan(1600);
    expect(b.lastLoss?.reason).toMatch(/^lock boards? 1\b.*stopped answering \(silent for \d+ ms\)$/);
  });

  it('reports a door that moved while its board was silent, after the link is ok again', async () => {
    peer = new ScriptedBus('8a80', [1]);
    const b = start8a80([{ board: 1, channel: 9 }]);
    await b.start({ readyTimeoutMs: 2000 });
    const seen: string[] = [];
    b.onLink((s) => seen.push(`link ${s} (door ${b.doors.isOpen(lockId(1, 9)) ? 'open' : 'shut'})`));
    b.doors.onEdge((e) => seen.push(`edge ${e.open ? 'open' : 'shut'}`));
    peer.script = () => null;
    await until(() => b.link === 'lost', 2000, 'lost');
    peer.boards.get(1)!.locked.set(9, false);
    peer.script = () => 'default';
    await until(() => seen.length === 3, 2000, 'back');
    expect(seen).toEqual(['link lost (door shut)', 'link ok (door open)', 'edge open']);
  });

  it('skips stray bytes, damaged replies and replies for another board, and counts each', async () => {
    peer = new ScriptedBus('8a80', [1, 2]);
    const b = start8a80([{ board: 1, channel: 1 }]);
    let n = 0;
    peer.script = (request) => {
      if (request.kind !== 'query-board') return 'default';
      const good = peer.reply(request)!;
      n++;
      if (n === 2) return Buffer.concat([Buffer.from([0xfa, 0xfd, 0x99, 0x99]), good]);
      if (n === 3) return Buffer.from([...good.subarray(0, -1), good.at(-1)! ^ 0xff]); // then asked again
      if (n === 5) return Buffer.concat([peer.reply({ kind: 'query-board', board: { board: 2 } } as never)!, good]);
      return good;
    };
    await b.start({ readyTimeoutMs: 2000 });
    await until(() => n >= 7, 2000, 'a few polls');
    const stats = b.stats();
    expect(stats.strayBytes).toBeGreaterThanOrEqual(4);
    expect(stats.badChecks).toBeGreaterThanOrEqual(1);
    expect(stats.wrongAddress).toBeGreaterThanOrEqual(1);
    expect(b.link).toBe('ok');
    expect(b.doors.isOpen(lockId(1, 1))).toBe(false);
  });

  it('polls each lock with its own query when pollEach is "lock"', async () => {
    peer = new ScriptedBus('8a80', [1]);
    const b = start8a80([{ board: 1, channel: 2 }, { board: 1, channel: 3 }], { pollEach: 'lock' } as never);
    peer.boards.get(1)!.locked.set(3, false);
    await b.start({ readyTimeoutMs: 2000 });
    expect(b.doors.isOpen(lockId(1, 2))).toBe(false);
    expect(b.doors.isOpen(lockId(1, 3))).toBe(true);
    expect(new Set(peer.heard.map((h) => h.frame))).toEqual(new Set(['80 01 02 33 B0', '80 01 03 33 B1']));
  });

  it('refuses a pulse before the bus is up, and a lock that is not configured', async () => {
    peer = new ScriptedBus('8a80', [1]);
    const b = start8a80([{ board: 1, channel: 1 }]);
    await expect(b.locks.pulse(lockId(1, 1))).rejects.toMatchObject({ name: 'HardwareUnavailableError', energised: false });
    await b.start({ readyTimeoutMs: 2000 });
    await expect(b.locks.pulse(lockId(1, 2))).rejects.toBeInstanceOf(RangeError);
    expect(peer.opens).toEqual([]);
  });

  it('a dropped connection is lost (connection-lost) and reopened with backoff; stop() leaves nothing open', async () => {
    peer = new ScriptedBus('8a80', [1]);
    const b = start8a80([{ board: 1, channel: 1 }]);
    await b.start({ readyTimeoutMs: 2000 });
    peer.cut();
    await until(() => b.link === 'lost', 1000, 'lost');
    expect(b.lastLoss?.cause).toBe('connection-lost');
    await until(() => b.link === 'ok', 2000, 'reconnected');
    expect(peer.ends).toHaveLength(2);
    await b.stop();
    const heard = peer.heard.length;
    await sleep(80);
    expect(peer.heard.length).toBe(heard);
    expect(peer.ends.every((e) => e.destroyed)).toBe(true);
    board = null;
  });

  it('start() rejects after its timeout while a board never answers, and keeps trying', async () => {
    peer = new ScriptedBus('8a80', [1]);
    const b = start8a80([{ board: 1, channel: 1 }, { board: 4, channel: 1 }]);
    await expect(b.start({ readyTimeoutMs: 300 })).rejects.toThrow(/board 4 not answering/);
    expect(b.link).toBe('connecting');
  });
});

describe('LockboardBoard over a scripted Kerong bus', () => {
  it('reads hooks and infrared item sensors; item changes are reported', async () => {
    peer = new ScriptedBus('kerong-cu', [0, 1]);
    peer.boards.get(0)!.items.set(2, true);
    board = new LockboardBoard({
      bus: { protocol: 'kerong-cu', transport: TCP, pollMs: 20, replyMs: 40, openReplyMs: 80 },
      locks: [{ board: 0, channel: 1 }, { board: 0, channel: 2 }, { board: 1, channel: 8 }],
      openWire: peer.open,
      gapMs: 0,
    });
    const changes: ItemChange[] = [];
    board.items!.onChange((c) => changes.push(c));
    await board.start({ readyTimeoutMs: 2000 });
    expect(board.items!.isPresent(lockId(0, 2))).toBe(true);
    expect(board.items!.isPresent(lockId(0, 1))).toBe(false);
    expect(board.items!.isPresent(lockId(1, 9))).toBeNull();
    await board.locks.pulse(lockId(1, 8));
    expect(peer.opens).toEqual(['02 17 31 03 4D']);
    expect(board.doors.isOpen(lockId(1, 8))).toBe(true);
    peer.boards.get(1)!.items.set(8, true);
    await until(() => changes.length === 1, 1000, 'an item change');
    expect(changes[0]).toMatchObject({ lockId: lockId(1, 8), present: true });
  });

  it('takes an unlock without a reply (optional on some firmware) as sent once, confirmed by the status query', async () => {
    peer = new ScriptedBus('kerong-cu', [0]);
    peer.script = (request) => (request.kind === 'open' ? null : 'default');
    board = new LockboardBoard({ bus: { protocol: 'kerong-cu', transport: TCP, pollMs: 20, replyMs: 40, openReplyMs: 60 }, locks: [{ board: 0, channel: 3 }], openWire: peer.open, gapMs: 0 });
    await board.start({ readyTimeoutMs: 2000 });
    await board.locks.pulse(lockId(0, 3));
    expect(peer.opens).toEqual(['02 02 31 03 38']);
    expect(board.doors.isOpen(lockId(0, 3))).toBe(true);
  });
});

describe('probeBus', () => {
  it('asks every address for its status, says who answered and how, and opens nothing', async () => {
    peer = new ScriptedBus('8a80', [1, 3]);
    peer.boards.get(3)!.locked.set(2, false);
    const report = await probeBus({ bus: { protocol: '8a80', transport: TCP, replyMs: 20, highestBoard: 4 }, openWire: peer.open });
    expect(report.boards.map((b) => [b.board, b.answered])).toEqual([[1, true], [2, false], [3, true], [4, false]]);
    const third = report.boards[2]!;
    expect(third.answered && third.reading.statusBytes).toBe(3);
    expect(third.answered && third.reading.locks.filter((l) => !l.locked).map((l) => l.channel)).toEqual([2]);
    expect(peer.heard.every((h) => h.request.kind === 'query-board')).toBe(true);
    expect(peer.ends[0]!.destroyed).toBe(true);
  });
});
