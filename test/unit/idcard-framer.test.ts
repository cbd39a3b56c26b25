import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdCardFramer, MAX_FRAME_LENGTH, encodeFrame, encodeReply, encodeRequest, type IdCardFrame } from '../../firmware-bridge/idcard/index.ts';

// The ID-card reader's framer: replies arrive in arbitrary chunks, after junk, damaged or cut short; the
// framer hands out exactly the good frames, counts what it skipped, and holds a bounded number of bytes.

const bytes = (hex: string) => Buffer.from(hex.replace(/\s+/g, ''), 'hex');
const noCard = encodeReply('no-card');
const cardFound = encodeReply('card-found', Buffer.alloc(4));
const selectOk = encodeReply('ok', Buffer.alloc(8));
/** A read-card reply's size, with arbitrary data (the card-read tests use a real text block). */
const bigReply = encodeReply('ok', Buffer.alloc(MAX_FRAME_LENGTH - 11, 0x5a));

/** Payloads as hex, for comparing frames. */
const payloads = (frames: readonly IdCardFrame[]) => frames.map((f) => Buffer.from(f.payload).toString('hex'));
const payloadOf = (frame: Buffer) => frame.subarray(7, -1).toString('hex');

function feed(framer: IdCardFramer, chunks: readonly Uint8Array[]): IdCardFrame[] {
  return chunks.flatMap((c) => framer.push(c));
}

/** Splits `stream` at the given cut points (sorted, deduplicated, within bounds). */
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

/** Every byte is in a frame handed out, was skipped, or is still held. */
function expectAccounted(framer: IdCardFramer, frames: readonly IdCardFrame[], total: number): void {
  const inFrames = frames.reduce((n, f) => n + f.length + 8, 0);
  expect(inFrames + framer.stats.skippedBytes + framer.pending).toBe(total);
}

describe('the ID-card reader framer', () => {
  it('hands out a reply split at any point, byte by byte included', () => {
    const stream = Buffer.concat([cardFound, selectOk, noCard]);
    const expected = [payloadOf(cardFound), payloadOf(selectOk), payloadOf(noCard)];
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b++) {
        const framer = new IdCardFramer();
        expect(payloads(feed(framer, [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)])), `split at ${a}, ${b}`).toEqual(expected);
        expect(framer.stats).toEqual({ frames: 3, skippedBytes: 0, badLength: 0, badChecksum: 0, abandoned: 0 });
      }
    }
    expect(payloads(feed(new IdCardFramer(), [...stream].map((b) => Uint8Array.of(b))))).toEqual(expected);
  });

  it('skips stray bytes before a reply (FA FD 99 99 seen on the field) and counts them', () => {
    const framer = new IdCardFramer();
    expect(payloads(framer.push(Buffer.concat([bytes('FA FD 99 99'), noCard])))).toEqual([payloadOf(noCard)]);
    expect(framer.stats).toMatchObject({ frames: 1, skippedBytes: 4 });
  });

  it('holds on to a possible start of a preamble at the end of a chunk, and only that', () => {
    const framer = new IdCardFramer();
    expect(framer.push(bytes('01 02 03 AA AA'))).toEqual([]);
    expect(framer.pending).toBe(2);
    expect(payloads(framer.push(noCard.subarray(2)))).toEqual([payloadOf(noCard)]);
    expect(framer.stats).toMatchObject({ frames: 1, skippedBytes: 3 });
  });

  it('refuses a frame with a bad CHK, counts it, and still hands out the next one', () => {
    const damaged = Buffer.from(selectOk);
    damaged[12] = 0x01;
    const framer = new IdCardFramer();
    expect(payloads(framer.push(Buffer.concat([damaged, cardFound])))).toEqual([payloadOf(cardFound)]);
    expect(framer.stats).toMatchObject({ frames: 1, badChecksum: 1, skippedBytes: damaged.length });
  });

  it('refuses an absurd LEN at once, without waiting for (or holding) the bytes it announces', () => {
    const framer = new IdCardFramer();
    expect(framer.push(bytes('AA AA AA 96 69 FF FF 00 00'))).toEqual([]);
    expect(framer.stats).toMatchObject({ badLength: 1 });
    expect(framer.pending).toBe(0);
    expect(framer.push(bytes('AA AA AA 96 69 00 00'))).toEqual([]);
    expect(framer.stats).toMatchObject({ badLength: 2 });
    expect(payloads(framer.push(noCard))).toEqual([payloadOf(noCard)]);
  });

  it('keeps the next reply when a frame was cut short (a lost byte): the short one fails its CHK', () => {
    const truncated = selectOk.subarray(0, selectOk.length - 3);
    const framer = new IdCardFramer();
    const frames = feed(framer, [truncated, cardFound, noCard]);
    expect(payloads(frames)).toEqual([payloadOf(cardFound), payloadOf(noCard)]);
    expect(framer.stats).toMatchObject({ frames: 2, badChecksum: 1, skippedBytes: truncated.length });
  });

  it('when the line goes quiet, gives up a frame in progress and finds the reply inside it', () => {
    // A stray preamble announcing 768 bytes would otherwise swallow the real reply behind it.
    const framer = new IdCardFramer();
    expect(framer.push(Buffer.concat([bytes('AA AA AA 96 69 03 00 01'), noCard]))).toEqual([]);
    expect(payloads(framer.idle())).toEqual([payloadOf(noCard)]);
    expect(framer.pending).toBe(0);
    expect(framer.stats).toMatchObject({ frames: 1, abandoned: 1, skippedBytes: 8 });
  });

  it('drops what it holds on reset (before each request, after a timeout) and counts a partial frame', () => {
    const framer = new IdCardFramer();
    framer.push(bigReply.subarray(0, 600));
    expect(framer.pending).toBe(600);
    framer.reset();
    expect(framer.pending).toBe(0);
    expect(framer.stats).toMatchObject({ abandoned: 1, skippedBytes: 600 });
    expect(payloads(framer.push(bigReply))).toEqual([payloadOf(bigReply)]);
  });

  it('hands out frames that own their bytes: the chunk can be zeroed after push', () => {
    const chunk = Buffer.from(cardFound);
    const [frame] = new IdCardFramer().push(chunk);
    chunk.fill(0);
    expect(Buffer.from(frame!.payload).toString('hex')).toBe(payloadOf(cardFound));
  });

  it('accepts the largest reply and refuses one byte more, with a smaller limit when configured', () => {
    expect(bigReply.length).toBe(1295);
    expect(payloads(new IdCardFramer().push(bigReply))).toEqual([payloadOf(bigReply)]);
    const tooBig = encodeFrame(Buffer.alloc(MAX_FRAME_LENGTH - 7, 0x5a));
    const framer = new IdCardFramer();
    expect(framer.push(tooBig)).toEqual([]);
    expect(framer.stats.badLength).toBe(1);
    const small = new IdCardFramer({ maxFrameLength: 16 });
    expect(payloads(small.push(Buffer.concat([bigReply.subarray(0, 64), noCard])))).toEqual([payloadOf(noCard)]);
    expect(small.stats.badLength).toBe(1);
    expect(() => new IdCardFramer({ maxFrameLength: 9 })).toThrow(RangeError);
  });

  it('frames requests too (for an emulator of the reader)', () => {
    expect(payloads(new IdCardFramer().push(Buffer.concat([encodeRequest('find-card'), encodeRequest('read-card')])))).toEqual(['2001', '3001']);
  });
});

describe('the ID-card reader framer, for any input', () => {
  const preamble = bytes('AA AA AA 96 69');
  /** Junk that does not itself contain a preamble (a real preamble in junk is a frame candidate). */
  const junk = fc.uint8Array({ maxLength: 40 }).filter((j) => Buffer.from(j).indexOf(preamble) < 0);
  const frame = fc.oneof(
    fc.uint8Array({ minLength: 3, maxLength: 40 }).map((p) => encodeFrame(p)),
    fc.constantFrom(noCard, cardFound, selectOk, bigReply),
  );
  const cuts = fc.array(fc.nat(), { maxLength: 12 });

  it('hands out every frame, whatever junk precedes it and however the stream is split', () => {
    fc.assert(fc.property(fc.array(fc.tuple(junk, frame), { minLength: 1, maxLength: 6 }), cuts, (parts, at) => {
      const stream = Buffer.concat(parts.flatMap(([j, f]) => [j, f]));
      const framer = new IdCardFramer();
      const frames = feed(framer, split(stream, at));
      expect(payloads(frames)).toEqual(parts.map(([, f]) => payloadOf(f)));
      expect(framer.stats.skippedBytes).toBe(parts.reduce((n, [j]) => n + j.length, 0));
      expect(framer.pending).toBe(0);
    }));
  });

  it('refuses and counts a frame whose CHK was damaged, and loses none of the others', () => {
    fc.assert(fc.property(fc.array(frame, { minLength: 2, maxLength: 5 }), fc.nat(), fc.integer({ min: 1, max: 255 }), cuts, (frames, pick, flip, at) => {
      const victim = pick % frames.length;
      const damaged = frames.map((f, i) => {
        if (i !== victim) return f;
        const copy = Buffer.from(f);
        copy[copy.length - 1]! ^= flip;
        return copy;
      });
      const framer = new IdCardFramer();
      const out = feed(framer, split(Buffer.concat(damaged), at));
      expect(payloads(out)).toEqual(frames.filter((_, i) => i !== victim).map(payloadOf));
      expect(framer.stats.badChecksum).toBe(1);
    }));
  });

  it('never throws on random bytes, holds at most one frame\'s worth, and accounts for every byte', () => {
    const noisy = fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), frame, fc.constant(preamble), fc.uint8Array({ minLength: 2, maxLength: 2 }).map((len) => Buffer.concat([preamble, len]))), { maxLength: 20 });
    fc.assert(fc.property(noisy, cuts, (parts, at) => {
      const stream = Buffer.concat(parts);
      const framer = new IdCardFramer();
      let frames: IdCardFrame[] = [];
      for (const chunk of split(stream, at)) {
        frames = frames.concat(framer.push(chunk));
        expect(framer.pending).toBeLessThanOrEqual(MAX_FRAME_LENGTH);
      }
      expectAccounted(framer, frames, stream.length);
      frames = frames.concat(framer.idle());
      expect(framer.pending).toBe(0);
      expectAccounted(framer, frames, stream.length);
    }), { numRuns: 300 });
  });

  it('gives the same frames and counts however the same bytes are chunked', () => {
    const noisy = fc.array(fc.oneof(fc.uint8Array({ maxLength: 24 }), frame, fc.constant(preamble)), { maxLength: 12 });
    fc.assert(fc.property(noisy, cuts, (parts, at) => {
      const stream = Buffer.concat(parts);
      const whole = new IdCardFramer();
      const expected = payloads(whole.push(stream));
      const chunked = new IdCardFramer();
      expect(payloads(feed(chunked, split(stream, at)))).toEqual(expected);
      expect(chunked.stats).toEqual(whole.stats);
      expect(chunked.pending).toBe(whole.pending);
    }), { numRuns: 300 });
  });
});
