import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FrameReader,
  NOTHING_SKIPPED,
  board8a80,
  boardKerong,
  codec8a80,
  codecKerong as kerong,
  decodeFrame,
  type FrameMatcher,
  type ReadStep,
  type SkipCounts,
} from '../../firmware-bridge/lockboard/index.ts';

// The resynchronising reader, over both protocols: replies split anywhere, after junk, damaged, for another board
// or lock, echoed; it hands out the awaited frame, counts what it skipped, holds a bounded number of bytes and
// never throws.

const bytes = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

function ok<T>(parsed: { ok: true; value: T } | { ok: false; message: string }): T {
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

const lock8a80 = (board: number, channel: number) => ok(codec8a80.parseLockAddress({ board, channel }));
const boardOf8a80 = (board: number) => ok(codec8a80.parseBoardAddress(board));
const boardOfKerong = (board: number) => ok(kerong.parseBoardAddress(board));
const lockKerong = (board: number, channel: number) => ok(kerong.parseLockAddress({ board, channel }));

/** Feeds the chunks in order; the step that handed out the frame (or the last), and everything skipped. */
function read<T>(matcher: FrameMatcher<T>, chunks: readonly Uint8Array[]): { step: ReadStep<T> | null; skipped: SkipCounts } {
  const reader = new FrameReader(matcher);
  let step: ReadStep<T> | null = null;
  for (const chunk of chunks) {
    step = reader.push(chunk);
    expect(reader.pending).toBeLessThan(matcher.maxFrameLength);
    if (step.kind === 'frame') break;
  }
  if (step?.kind !== 'frame') reader.end();
  return { step, skipped: reader.skipped };
}

/** Splits `stream` at the given cut points. */
function split(stream: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    out.push(stream.subarray(at, p));
    at = p;
  }
  out.push(stream.subarray(at));
  return out;
}

const counts = (over: Partial<SkipCounts>): SkipCounts => ({ ...NOTHING_SKIPPED, ...over });

describe('the lock-board frame reader', () => {
  it('hands out a reply split at any point, byte by byte included', () => {
    const reply = bytes('80 01 01 01 01 33 B3');
    const matcher = codec8a80.expectReply(codec8a80.queryBoard(boardOf8a80(1)));
    const expected = decodeFrame(matcher, reply);
    for (let a = 0; a <= reply.length; a++) {
      for (let b = a; b <= reply.length; b++) {
        const { step, skipped } = read(matcher, [reply.subarray(0, a), reply.subarray(a, b), reply.subarray(b)]);
        expect(step, `split at ${a}, ${b}`).toMatchObject({ kind: 'frame', value: expected.ok && expected.value });
        expect(skipped).toEqual(NOTHING_SKIPPED);
      }
    }
    expect(read(matcher, [...reply].map((b) => Uint8Array.of(b))).step?.kind).toBe('frame');
  });

  it('8A/80: skips an echo, stray bytes, frames for another board or lock, a late reply, a damaged frame and one missing its first byte, and counts each', () => {
    const stream = bytes(`
      80 01 01 33 B3
      FA FD 99 99
      80 02 01 11 92
      80 01 02 11 92
      8A 01 01 00 8A
      80 01 01 11 92
      01 01 11 91
      80 01 01 11 91`);
    const { step, skipped } = read(codec8a80.expectReply(codec8a80.queryLock(lock8a80(1, 1))), [stream]);
    expect(step).toMatchObject({ kind: 'frame', value: { kind: 'lock-status', board: 1, channel: 1, locked: true } });
    expect(step?.kind === 'frame' && step.frame).toEqual(bytes('80 01 01 11 91'));
    expect(skipped).toEqual(counts({ strayBytes: 13, badChecks: 1, wrongAddress: 2, unexpected: 1, echoes: 1 }));
  });

  it('Kerong: skips an echo, stray bytes, another board\'s status and a damaged one, and counts each', () => {
    const stream = bytes(`
      02 10 30 03 45
      FA FD
      02 00 35 FF 00 00 81 03 BA
      02 10 35 FF 00 00 81 03 CB
      02 10 35 FF 00 00 81 03 CA`);
    const { step, skipped } = read(kerong.expectReply(kerong.queryBoard(boardOfKerong(1))), [stream]);
    expect(step).toMatchObject({ kind: 'frame', value: { kind: 'board-status', board: 1 } });
    expect(skipped).toEqual(counts({ strayBytes: 11, badChecks: 1, wrongAddress: 1, echoes: 1 }));
  });

  it('takes the same reply however the noisy stream is split', () => {
    const stream = bytes('80 01 00 33 B2 FA FD 99 99 80 02 01 01 01 33 B0 80 01 04 02 01 33 B5 80');
    const matcher = codec8a80.expectReply(codec8a80.queryBoard(boardOf8a80(1)));
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b++) {
        const { step } = read(matcher, [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]);
        expect(step?.kind === 'frame' && step.frame, `split at ${a}, ${b}`).toEqual(bytes('80 01 04 02 01 33 B5'));
      }
    }
  });

  it('reads a whole-board reply whose first five bytes happen to make a valid one-lock frame', () => {
    const reply = bytes('80 01 00 00 81 33 33'); // 80^01^00^00 = 81: a 5-byte frame with a good BCC inside
    const { step } = read(codec8a80.expectReply(codec8a80.queryBoard(boardOf8a80(1))), [reply]);
    expect(step).toMatchObject({ kind: 'frame', value: { statusBytes: 3 } });
  });

  it('cuts a whole-board reply short when a status byte 33 is followed by the XOR so far, unless the length is pinned', () => {
    const reply = bytes('80 01 00 00 33 B2 33 33'); // 4 status bytes: 00 00 33 B2
    const loose = read(codec8a80.expectReply(codec8a80.queryBoard(boardOf8a80(1))), [reply]);
    expect(loose.step).toMatchObject({ kind: 'frame', value: { statusBytes: 2 } });
    const pinned = read(codec8a80.expectReply(codec8a80.queryBoard(boardOf8a80(1)), codec8a80.DEFAULT_SETTINGS, { statusBytes: 4 }), [reply]);
    expect(pinned.step).toMatchObject({ kind: 'frame', value: { statusBytes: 4 } });
  });

  it('treats what follows the reply as stray, and every later chunk too', () => {
    const reader = new FrameReader(codec8a80.expectReply(codec8a80.openLock(lock8a80(1, 1))));
    expect(reader.push(bytes('8A 01 01 00 8A 80 01'))).toMatchObject({ kind: 'frame', skipped: counts({ strayBytes: 2 }) });
    expect(reader.push(bytes('01 11 91'))).toEqual({ kind: 'done', skipped: counts({ strayBytes: 3 }) });
    expect(reader.end()).toEqual(NOTHING_SKIPPED);
    expect(reader.skipped).toEqual(counts({ strayBytes: 5 }));
  });

  it('when the line goes silent, counts a reply cut short as truncated', () => {
    const reader = new FrameReader(kerong.expectReply(kerong.openLock(lockKerong(1, 2))));
    expect(reader.push(bytes('FA 02 10 35 FF'))).toEqual({ kind: 'waiting', skipped: counts({ strayBytes: 1 }) });
    expect(reader.pending).toBe(4);
    expect(reader.end()).toEqual(counts({ strayBytes: 4, truncated: 1 }));
    expect(reader.done).toBe(true);
  });

  it('holds fewer bytes than the longest frame, whatever arrives (256 KB of noise and of near-frames)', () => {
    const matcher = codec8a80.expectReply(codec8a80.queryBoard(boardOf8a80(1)));
    const noise = Buffer.alloc(1 << 18);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + (i >> 3)) & 0xff;
    const nearFrames = Buffer.alloc(1 << 18);
    for (let i = 0; i < nearFrames.length; i += 2) nearFrames.set([0x80, 0x01], i);
    for (const junk of [noise, nearFrames]) {
      const reader = new FrameReader(matcher);
      const step = reader.push(junk);
      expect(step.kind === 'frame' ? 'a frame in the noise' : reader.pending).toBeLessThan(matcher.maxFrameLength);
      if (step.kind !== 'frame') expect(reader.push(bytes('80 01 01 01 01 33 B3')).kind).toBe('frame');
    }
  });
});

// ——— properties ———

const settings8a80 = fc.record({ lockedWhen: fc.constantFrom('set', 'clear'), channelsOneToEightIn: fc.constantFrom('last-byte', 'first-byte') }).map((s) => codec8a80.settingsSchema.parse(s));
const settingsKerong = fc.record({ lockedWhen: fc.constantFrom('set', 'clear') }).map((s) => kerong.settingsSchema.parse(s));

const request8a80 = fc.tuple(fc.constantFrom('open', 'query-lock', 'query-board'), fc.integer({ min: 1, max: 31 }), fc.integer({ min: 1, max: 50 })).map(([kind, board, channel]): codec8a80.Request8a80 =>
  kind === 'open' ? codec8a80.openLock(lock8a80(board, channel)) : kind === 'query-lock' ? codec8a80.queryLock(lock8a80(board, channel)) : codec8a80.queryBoard(boardOf8a80(board)));

const requestKerong = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 14 }), fc.integer({ min: 1, max: 16 })).map(([open, board, channel]): kerong.RequestKerong =>
  open ? kerong.openLock(lockKerong(board, channel)) : kerong.queryBoard(boardOfKerong(board)));

/** A request, the matcher for its reply, and a reply a board could send to it. */
const exchange8a80 = fc.tuple(request8a80, settings8a80, fc.array(fc.boolean(), { minLength: 1, maxLength: 50 }), fc.integer({ min: 0, max: 255 })).map(([request, s, locked, status]) => {
  const matcher = codec8a80.expectReply(request, s) as FrameMatcher<codec8a80.Reply8a80>;
  if (request.kind === 'open') return { matcher, reply: board8a80.encodeOpenReply(request.lock, status, s) };
  if (request.kind === 'query-lock') return { matcher, reply: board8a80.encodeLockStatus(request.lock, locked[0]!, s) };
  return { matcher, reply: board8a80.encodeBoardStatus(request.board, locked, s) };
});

const exchangeKerong = fc.tuple(requestKerong, settingsKerong, fc.array(fc.record({ locked: fc.boolean(), itemPresent: fc.boolean() }), { minLength: 16, maxLength: 16 })).map(([request, s, locks]) => {
  const board = boardOfKerong(request.kind === 'open' ? request.lock.board : request.board.board);
  return { matcher: kerong.expectReply(request, s) as FrameMatcher<kerong.ReplyKerong>, reply: boardKerong.encodeStatus(board, locks, s) };
});

/** Junk before a frame, biased towards the bytes that start frames of either protocol. */
const junk = fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x80, 0x8a, 0x01, 0x33, 0x02, 0x03, 0x10, 0x35)), { maxLength: 40 }).map((b) => Buffer.from(b));
const cuts = fc.array(fc.nat(), { maxLength: 8 });

/** True when the junk, with what follows it, already holds an awaited frame (so that one is rightly taken first). */
const junkHoldsAFrame = <T>(matcher: FrameMatcher<T>, stream: Buffer, junkLength: number) =>
  Array.from({ length: junkLength }, (_, i) => matcher.classify(stream.subarray(i))).some((c) => c.kind === 'match');

function expectFoundAfterJunk<T>(matcher: FrameMatcher<T>, frame: Buffer, prefix: Buffer, at: number[]): void {
  const stream = Buffer.concat([prefix, frame]);
  fc.pre(!junkHoldsAFrame(matcher, stream, prefix.length));
  const { step } = read(matcher, split(stream, at));
  expect(step?.kind).toBe('frame');
  if (step?.kind !== 'frame') return;
  expect(step.frame).toEqual(frame);
  expect(step.value).toEqual((decodeFrame(matcher, frame) as { value: unknown }).value);
}

describe('the lock-board frame reader, for any input', () => {
  it('every request built round-trips through the reader to what an emulated board hears', () => {
    fc.assert(fc.property(request8a80, junk, cuts, (request, prefix, at) => {
      const matcher = board8a80.expectRequest();
      const stream = Buffer.concat([prefix, codec8a80.encodeRequest(request)]);
      fc.pre(!junkHoldsAFrame(matcher, stream, prefix.length));
      expect(read(matcher, split(stream, at)).step).toMatchObject({ kind: 'frame', value: request });
    }));
    fc.assert(fc.property(requestKerong, junk, cuts, (request, prefix, at) => {
      const matcher = boardKerong.expectRequest();
      const stream = Buffer.concat([prefix, kerong.encodeRequest(request)]);
      fc.pre(!junkHoldsAFrame(matcher, stream, prefix.length));
      expect(read(matcher, split(stream, at)).step).toMatchObject({ kind: 'frame', value: request });
    }));
  });

  it('finds the awaited reply after any junk and any chunk split (8A/80)', () => {
    fc.assert(fc.property(exchange8a80, junk, cuts, ({ matcher, reply }, prefix, at) => expectFoundAfterJunk(matcher, reply, prefix, at)), { numRuns: 500 });
  });

  it('finds the awaited reply after any junk and any chunk split (Kerong)', () => {
    fc.assert(fc.property(exchangeKerong, junk, cuts, ({ matcher, reply }, prefix, at) => expectFoundAfterJunk(matcher, reply, prefix, at)), { numRuns: 500 });
  });

  it('finds the reply behind the request\'s own echo', () => {
    fc.assert(fc.property(request8a80.filter((r) => r.kind !== 'open'), settings8a80, (request, s) => {
      const matcher = codec8a80.expectReply(request, s) as FrameMatcher<codec8a80.Reply8a80>;
      const reply = request.kind === 'query-lock' ? board8a80.encodeLockStatus(request.lock, true, s) : board8a80.encodeBoardStatus((request as codec8a80.QueryBoardRequest8a80).board, [true], s);
      const { step, skipped } = read(matcher, [codec8a80.encodeRequest(request), reply]);
      expect(step?.kind === 'frame' && step.frame).toEqual(reply);
      expect(skipped).toEqual(counts({ echoes: 1 }));
    }));
  });

  it('random bytes in random chunks never throw, and memory stays bounded', () => {
    const matchers: FrameMatcher<unknown>[] = [
      codec8a80.expectReply(codec8a80.openLock(lock8a80(1, 1))),
      codec8a80.expectReply(codec8a80.queryLock(lock8a80(1, 1))),
      codec8a80.expectReply(codec8a80.queryBoard(boardOf8a80(1))),
      codec8a80.expectReply(codec8a80.queryBoard(boardOf8a80(1)), codec8a80.DEFAULT_SETTINGS, { statusBytes: 3 }),
      kerong.expectReply(kerong.queryBoard(boardOfKerong(1))),
      kerong.expectReply(kerong.openLock(lockKerong(1, 1))),
      board8a80.expectRequest(),
      boardKerong.expectRequest(),
    ];
    fc.assert(fc.property(fc.constantFrom(...matchers), fc.array(fc.oneof(fc.uint8Array({ maxLength: 200 }), junk), { maxLength: 6 }), (matcher, chunks) => {
      const reader = new FrameReader(matcher);
      for (const chunk of chunks) {
        reader.push(chunk);
        expect(reader.pending).toBeLessThan(matcher.maxFrameLength);
      }
      reader.end();
      for (const chunk of chunks) {
        decodeFrame(matcher, chunk);
        for (let i = 0; i <= chunk.length; i++) matcher.classify(chunk.subarray(i), i % 2 === 0);
      }
    }), { numRuns: 1000 });
  });
});
