import { describe, expect, it } from 'vitest';
import { LineFramer, type FramedLine } from '../../firmware-bridge/scanner/line-framer.ts';

const bytes = (s: string) => Buffer.from(s, 'utf8');
const line = (text: string): FramedLine => ({ kind: 'line', text });

/** Feeds the chunks in order and collects everything the framer answers, `end()` included. */
function frame(chunks: readonly Buffer[], maxLength?: number): FramedLine[] {
  const framer = new LineFramer({ maxLength });
  return [...chunks.flatMap((chunk) => framer.push(chunk)), ...framer.end()];
}

describe('the scanner line framer', () => {
  it('ends lines at CR, LF or CRLF, and drops empty lines', () => {
    expect(frame([bytes('GLQ1.a\rGLQ1.b\nGLQ1.c\r\nGLQ1.d\n\r\r\n\n')])).toEqual([line('GLQ1.a'), line('GLQ1.b'), line('GLQ1.c'), line('GLQ1.d')]);
  });

  it('gives the same lines however the bytes are split into chunks', () => {
    const stream = bytes('12345678\r\n一码通办 QR\r\r\n\tBY2026112300017  \nlast\r');
    const expected = [line('12345678'), line('一码通办 QR'), line('BY2026112300017'), line('last')];
    for (let a = 0; a <= stream.length; a++) {
      expect(frame([stream.subarray(0, a), stream.subarray(a)]), `split at ${a}`).toEqual(expected);
      for (let b = a; b <= stream.length; b += 7) {
        expect(frame([stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]), `split at ${a}, ${b}`).toEqual(expected);
      }
    }
    expect(frame([...stream].map((byte) => Buffer.from([byte]))), 'one byte at a time').toEqual(expected);
  });

  it('treats a CR ending one chunk and an LF starting the next as one terminator', () => {
    const framer = new LineFramer();
    expect(framer.push(bytes('A01\r'))).toEqual([line('A01')]);
    expect(framer.push(Buffer.alloc(0))).toEqual([]);
    expect(framer.push(bytes('\nA02\r'))).toEqual([line('A02')]);
    expect(framer.push(bytes('A03\n'))).toEqual([line('A03')]);
  });

  it('trims whitespace, turns tabs into spaces and strips a UTF-8 byte-order mark', () => {
    expect(frame([bytes('  a\tb  \r\n'), Buffer.from([0xef, 0xbb, 0xbf]), bytes('GLQ1.x\r\n\t \r\n')])).toEqual([line('a b'), line('GLQ1.x')]);
  });

  it('drops a line over maxLength whole, up to its terminator, and reports its length', () => {
    const framer = new LineFramer({ maxLength: 8 });
    expect(framer.push(bytes('12345678\r\n'))).toEqual([line('12345678')]);
    expect(framer.push(bytes('123456789'))).toEqual([]);
    expect(framer.push(bytes('0123456789'))).toEqual([]);
    expect(framer.pending).toBe(0);
    expect(framer.push(bytes('tail\r\nnext\r\n'))).toEqual([{ kind: 'rejected', reason: 'too-long', length: 23 }, line('next')]);
  });

  it('counts the limit in bytes, not characters', () => {
    expect(frame([bytes('一二三\n一二三四\n')], 9)).toEqual([line('一二三'), { kind: 'rejected', reason: 'too-long', length: 12 }]);
  });

  it('rejects binary garbage: bad UTF-8, NUL, escape sequences, C1 controls', () => {
    const garbage = [
      Buffer.from([0xff, 0xfe, 0x41]),
      Buffer.from([0x41, 0x00, 0x42]),
      bytes('\x1b[31mred'),
      bytes('a\x7fb'),
      bytes('a\u0085b'),
      Buffer.from([0xe4, 0xb8]), // a character cut in half
    ];
    for (const g of garbage) {
      expect(frame([g, bytes('\r\nok\r\n')]), g.toString('hex')).toEqual([{ kind: 'rejected', reason: 'binary', length: g.length }, line('ok')]);
    }
  });

  it('never passes on a line cut off by the end of the stream', () => {
    expect(frame([bytes('1234\r\n5678')])).toEqual([line('1234'), { kind: 'rejected', reason: 'unterminated', length: 4 }]);
    expect(frame([bytes('1234\r\n  ')])).toEqual([line('1234')]);
  });

  it('keeps memory bounded when 10 MB arrive without a terminator', () => {
    const framer = new LineFramer();
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const before = process.memoryUsage().arrayBuffers;
    for (let sent = 0; sent < 10 * 1024 * 1024; sent += chunk.length) {
      expect(framer.push(chunk)).toEqual([]);
      expect(framer.pending).toBeLessThanOrEqual(512);
    }
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1024 * 1024);
    expect(framer.push(bytes('\r\n12345678\r\n'))).toEqual([{ kind: 'rejected', reason: 'too-long', length: 10 * 1024 * 1024 }, line('12345678')]);
  });

  it('keeps memory bounded under random noise with terminators mixed in', () => {
    const framer = new LineFramer({ maxLength: 64 });
    let state = 42;
    const next = () => (state = (state * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 2000; i++) {
      const chunk = Buffer.alloc(next() % 300);
      for (let j = 0; j < chunk.length; j++) chunk[j] = next() & 0xff;
      for (const out of framer.push(chunk)) if (out.kind === 'line') expect(out.text).toMatch(/^[^\u0000-\u001f\u007f-\u009f]+$/);
      expect(framer.pending).toBeLessThanOrEqual(64);
    }
  });
});
