import { describe, expect, it } from 'vitest';
import { FirmataHostParser } from '../../simulator/firmata-device.ts';

function parse(chunks: number[][]) {
  const parser = new FirmataHostParser();
  const out: unknown[] = [];
  for (const chunk of chunks) parser.push(Uint8Array.from(chunk), (m) => out.push(m));
  return out;
}

describe('FirmataHostParser', () => {
  const stream = [0xf4, 26, 0x0b, 0xd3, 1, 0x90, 0x04, 0x00, 0xf0, 0x6d, 2, 0xf7, 0xf5, 3, 1, 0xf9, 0xff];
  const expected = [
    { kind: 'pin-mode', pin: 26, mode: 0x0b },
    { kind: 'report-digital', port: 3, enable: true },
    { kind: 'digital-port', port: 0, value: 4 },
    { kind: 'sysex', command: 0x6d, data: [2] },
    { kind: 'pin-value', pin: 3, value: 1 },
    { kind: 'report-version' },
    { kind: 'system-reset' },
  ];

  it('decodes every host command', () => {
    expect(parse([stream])).toEqual(expected);
  });

  it('decodes the same messages however TCP splits them', () => {
    expect(parse(stream.map((b) => [b]))).toEqual(expected);
    expect(parse([stream.slice(0, 4), stream.slice(4, 10), stream.slice(10)])).toEqual(expected);
  });

  it('drops stray data bytes, unknown commands and a sysex cut short by a new command', () => {
    expect(parse([[0x05, 0x06, 0x80, 0x01, 0xf0, 0x79, 0x01, 0x90, 0x01, 0x00]])).toEqual([{ kind: 'digital-port', port: 0, value: 1 }]);
  });

  it('passes an unknown sysex on for the device to ignore, and carries a high bit across the two data bytes', () => {
    expect(parse([[0xf0, 0x42, 1, 2, 0xf7, 0x93, 0x7f, 0x01]])).toEqual([
      { kind: 'sysex', command: 0x42, data: [1, 2] },
      { kind: 'digital-port', port: 3, value: 0xff },
    ]);
  });
});
