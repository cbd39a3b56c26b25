// Intel HEX, the text form avrdude and the Arduino IDE write a compiled sketch in: one record per line,
// `:LLAAAATT<data>CC` (byte count, 16-bit address, record type, data, two's-complement checksum).

const DATA = 0x00;
const END_OF_FILE = 0x01;
const EXTENDED_SEGMENT_ADDRESS = 0x02;
const START_SEGMENT_ADDRESS = 0x03;
const EXTENDED_LINEAR_ADDRESS = 0x04;
const START_LINEAR_ADDRESS = 0x05;

/** A line the parser cannot accept; `line` is 1-based. */
export class IntelHexError extends Error {
  override readonly name = 'IntelHexError';
  constructor(readonly line: number, message: string) {
    super(`Intel HEX line ${line}: ${message}`);
  }
}

export interface FlashImage {
  /** The flash, `capacity` bytes; what no record wrote reads 0xFF, as erased flash does. */
  readonly bytes: Uint8Array;
  /** One past the highest address a record wrote. */
  readonly end: number;
}

/** Parses a whole file into a flash image of `capacity` bytes; refuses a bad checksum, a record past the end, or a missing end-of-file record. */
export function parseIntelHex(text: string, capacity: number): FlashImage {
  const bytes = new Uint8Array(capacity).fill(0xff);
  let base = 0;
  let end = 0;
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    const line = lines[index]!.trim();
    if (line === '') continue;
    const record = decodeRecord(line, lineNo);
    switch (record.type) {
      case DATA: {
        const address = base + record.address;
        if (address + record.data.length > capacity) {
          throw new IntelHexError(lineNo, `data at 0x${address.toString(16)} runs past the ${capacity}-byte flash`);
        }
        bytes.set(record.data, address);
        end = Math.max(end, address + record.data.length);
        break;
      }
      case END_OF_FILE:
        return { bytes, end };
      case EXTENDED_SEGMENT_ADDRESS:
        base = wordOf(record.data, lineNo) * 16;
        break;
      case EXTENDED_LINEAR_ADDRESS:
        base = wordOf(record.data, lineNo) * 0x10000;
        break;
      case START_SEGMENT_ADDRESS:
      case START_LINEAR_ADDRESS:
        break; // where an x86/ARM would start; an AVR always starts at 0
      default:
        throw new IntelHexError(lineNo, `unknown record type 0x${record.type.toString(16).padStart(2, '0')}`);
    }
  }
  throw new IntelHexError(lines.length, 'no end-of-file record (:00000001FF): the file is cut short');
}

function decodeRecord(line: string, lineNo: number): { type: number; address: number; data: Uint8Array } {
  if (!line.startsWith(':')) throw new IntelHexError(lineNo, 'a record starts with ":"');
  const hex = line.slice(1);
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new IntelHexError(lineNo, 'a record is pairs of hex digits after ":"');
  const raw = Buffer.from(hex, 'hex');
  if (raw.length < 5) throw new IntelHexError(lineNo, 'a record has at least a count, an address, a type and a checksum');
  const count = raw[0]!;
  if (raw.length !== count + 5) throw new IntelHexError(lineNo, `the count says ${count} data bytes but the record holds ${raw.length - 5}`);
  const sum = raw.reduce((total, byte) => (total + byte) & 0xff, 0);
  if (sum !== 0) throw new IntelHexError(lineNo, 'bad checksum');
  return { type: raw[3]!, address: (raw[1]! << 8) | raw[2]!, data: raw.subarray(4, 4 + count) };
}

function wordOf(data: Uint8Array, lineNo: number): number {
  if (data.length !== 2) throw new IntelHexError(lineNo, 'an address record carries 2 data bytes');
  return (data[0]! << 8) | data[1]!;
}
