import { describe, expect, it } from 'vitest';
import { IntelHexError, parseIntelHex } from '../../simulator/genuine-firmata/intel-hex.ts';

/** One record with its checksum computed, as avr-objcopy writes it. */
function record(type: number, address: number, data: number[]): string {
  const bytes = [data.length, address >> 8, address & 0xff, type, ...data];
  const checksum = (0x100 - (bytes.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
  return `:${[...bytes, checksum].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join('')}`;
}
const EOF = ':00000001FF';

describe('Intel HEX', () => {
  it('places data records at their addresses and leaves the rest erased (0xFF)', () => {
    // The first record of StandardFirmata for the Uno: its reset vector, a jmp to 0x00E8.
    const text = [':100000000C9474000C949C000C949C000C949C0028', record(0, 0x20, [1, 2, 3]), EOF, ''].join('\r\n');
    const image = parseIntelHex(text, 64);
    expect([...image.bytes.subarray(0, 4)]).toEqual([0x0c, 0x94, 0x74, 0x00]);
    expect([...image.bytes.subarray(0x20, 0x24)]).toEqual([1, 2, 3, 0xff]);
    expect(image.bytes[0x10]).toBe(0xff);
    expect(image.end).toBe(0x23);
  });

  it('applies extended linear and segment addresses, and ignores start addresses', () => {
    const text = [
      record(4, 0, [0x00, 0x01]), record(0, 0x0002, [0xaa]), // 0x10002
      record(2, 0, [0x10, 0x00]), record(0, 0x0004, [0xbb]), // 0x1000 * 16 + 4 = 0x10004
      record(3, 0, [0, 0, 0, 0]), record(5, 0, [0, 0, 0, 0]),
      EOF,
    ].join('\n');
    const image = parseIntelHex(text, 0x10008);
    expect(image.bytes[0x10002]).toBe(0xaa);
    expect(image.bytes[0x10004]).toBe(0xbb);
  });

  it('stops at the end-of-file record', () => {
    expect(parseIntelHex([record(0, 0, [7]), EOF, 'anything after it'].join('\n'), 4).bytes[0]).toBe(7);
  });

  it('refuses a bad checksum, naming the line', () => {
    const bad = record(0, 0, [1, 2]).slice(0, -2) + '00';
    expect(() => parseIntelHex([record(0, 0, [1]), bad, EOF].join('\n'), 16)).toThrowError(/line 2: bad checksum/);
  });

  it('refuses a file cut short, data past the flash, a wrong count, an unknown record and stray text', () => {
    const cases: Array<[string, RegExp]> = [
      [record(0, 0, [1]), /no end-of-file record/],
      [[record(0, 14, [1, 2, 3]), EOF].join('\n'), /runs past the 16-byte flash/],
      [[':0200000001FD', EOF].join('\n'), /count says 2 data bytes but the record holds 1/],
      [[record(6, 0, []), EOF].join('\n'), /unknown record type 0x06/],
      [['100000000C94', EOF].join('\n'), /starts with ":"/],
      [[':10zz', EOF].join('\n'), /pairs of hex digits/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseIntelHex(text, 16)).toThrowError(IntelHexError);
      expect(() => parseIntelHex(text, 16)).toThrowError(message);
    }
  });
});
