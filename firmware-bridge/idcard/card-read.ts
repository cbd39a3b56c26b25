import { inspect } from 'node:util';
import { encodeReply, readReplyHeader } from './codec.ts';
import type { IdCardFrame } from './frame.ts';
import { maskIdNumber } from './id-number.ts';
import type { IdCardStatus } from './status.ts';
import { TEXT_BLOCK_LENGTH, readIdNumber, readValidUntil, type CardValidUntil, type IdNumberRefusal } from './text-block.ts';

// What the cabinet keeps of an ID card read: the ID number (for comparing with the applicant's) and the
// card's end of validity. Nothing else of the text block is decoded, and the frame it came in is zeroed.

const CHINA_UTC_OFFSET_MS = 8 * 3600_000; // one time zone, no daylight saving

/**
 * One card read. The ID number is personal data: it is held in a private field, so spreading, cloning or
 * serialising the object never copies it, and every way of printing it (`JSON.stringify`, `util.inspect`,
 * `String()`, pino) shows the masked form `440106********1235`. Read `idNumber` only to compare it, and drop
 * the object once the comparison is done.
 */
export class CardRead {
  readonly #idNumber: string;
  /** The last day the card is valid (`YYYY-MM-DD`), `long-term` (长期), or `null` if the field was unreadable. */
  readonly validUntil: CardValidUntil | null;

  constructor(idNumber: string, validUntil: CardValidUntil | null) {
    this.#idNumber = idNumber;
    this.validUntil = validUntil;
  }

  /** The full 18-character ID number. Never log it; `masked` is for display. */
  get idNumber(): string {
    return this.#idNumber;
  }

  /** `440106********1235`: first six and last four characters. */
  get masked(): string {
    return maskIdNumber(this.#idNumber);
  }

  /**
   * Whether the card's validity ended before `now`'s date in China (a card is valid through its last day);
   * `false` for a long-term card, `null` when the end of validity could not be read.
   */
  isExpired(now: number): boolean | null {
    if (this.validUntil === null) return null;
    if (this.validUntil === 'long-term') return false;
    const today = new Date(now + CHINA_UTC_OFFSET_MS).toISOString().slice(0, 10);
    return today > this.validUntil;
  }

  toJSON(): { readonly idNumber: string; readonly validUntil: CardValidUntil | null } {
    return { idNumber: this.masked, validUntil: this.validUntil };
  }

  toString(): string {
    return `CardRead(${this.masked})`;
  }

  [inspect.custom](): string {
    return `CardRead { idNumber: '${this.masked}', validUntil: ${this.validUntil === null ? 'null' : `'${this.validUntil}'`} }`;
  }
}

export type ReadRefusal =
  /** The reply is shorter than its status bytes. */
  | 'too-short'
  /** The module answered with a status other than `ok` (see `status`): no card data in the reply. */
  | 'not-ok'
  /** The text/photo lengths in the reply do not add up, or the text block is not 256 bytes. */
  | 'malformed'
  | IdNumberRefusal;

export type ParsedReadReply =
  | { readonly ok: true; readonly card: CardRead }
  | {
      readonly ok: false;
      readonly reason: ReadRefusal;
      /** The reply's status, when it had one. */
      readonly status?: IdCardStatus;
      readonly sw3?: number;
      /** The card-type mark, for `unsupported-card`. */
      readonly cardType?: string;
    };

/** Bytes of the two length fields (text, photo; big-endian) before the text block. */
const LENGTHS = 4;
const SW = 3;

/**
 * Takes a read-card reply apart: `SW1 SW2 SW3 | text length (2) | photo length (2) | text | photo`. Answers
 * the ID number (in a `CardRead`) or why not, and ZEROES THE FRAME'S PAYLOAD whatever the outcome, so the
 * name, address and photo do not outlive this call in memory the parser was given. (The framer zeroes its
 * own buffer; the chunks that came off the wire are the driver's to zero.)
 */
export function parseReadReply(frame: IdCardFrame): ParsedReadReply {
  try {
    return parse(frame);
  } finally {
    frame.wipe();
  }
}

function parse(frame: IdCardFrame): ParsedReadReply {
  const parsed = readReplyHeader(frame);
  if (!parsed.ok) return { ok: false, reason: 'too-short' };
  const { status, sw3, dataLength } = parsed.header;
  if (status !== 'ok') return { ok: false, reason: 'not-ok', status, sw3 };
  const data = frame.payload.subarray(SW);
  if (dataLength < LENGTHS) return { ok: false, reason: 'malformed', status, sw3 };
  const textLength = (data[0]! << 8) | data[1]!;
  const photoLength = (data[2]! << 8) | data[3]!;
  if (textLength !== TEXT_BLOCK_LENGTH || LENGTHS + textLength + photoLength !== dataLength) return { ok: false, reason: 'malformed', status, sw3 };
  const text = data.subarray(LENGTHS, LENGTHS + textLength);
  const id = readIdNumber(text);
  if (!id.ok) return { ok: false, reason: id.reason, status, sw3, ...(id.cardType === undefined ? {} : { cardType: id.cardType }) };
  return { ok: true, card: new CardRead(id.idNumber, readValidUntil(text)) };
}

/**
 * A read-card reply around a text block and a photo (for an emulator of the reader, and tests): 1295 bytes
 * with a 256-byte text block and a 1024-byte photo, starting `AA AA AA 96 69 05 08 00 00 90 01 00 04 00`.
 */
export function encodeReadReply(textBlock: Uint8Array, photo: Uint8Array): Buffer {
  const data = Buffer.alloc(LENGTHS + textBlock.length + photo.length);
  data.writeUInt16BE(textBlock.length, 0);
  data.writeUInt16BE(photo.length, 2);
  data.set(textBlock, LENGTHS);
  data.set(photo, LENGTHS + textBlock.length);
  const frame = encodeReply('ok', data);
  data.fill(0);
  return frame;
}
