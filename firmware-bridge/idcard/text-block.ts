// The card's text block: 256 bytes of UTF-16LE, space-padded (HARDWARE.md §3). The layout of a resident ID
// card, for reference only — this module reads three fields and never decodes the others:
//
//   name 0 (30) · gender 30 (2) · nation 32 (4) · birth 36 (16) · address 52 (70) · ID number 122 (36) ·
//   issuing authority 158 (30) · valid from 188 (16) · valid to 204 (16, or 长期) · reserved 220 (36)
//
// Inside "reserved", the byte pair at 248 is the card-type mark: blank on a resident ID card, `J` on a
// Hong Kong/Macao/Taiwan residents' residence permit (港澳台居民居住证: same layout, an 18-character number of the
// same form), another letter (`I`) on a foreign permanent resident ID card, whose layout differs (at 122 it
// has a permit number of another form). Cards with another mark are refused rather than misread.

import { isWellFormedIdNumber } from './id-number.ts';

export const TEXT_BLOCK_LENGTH = 256;

const ID_NUMBER = { offset: 122, chars: 18 } as const;
const VALID_TO = { offset: 204, chars: 8 } as const;
const CARD_TYPE = { offset: 248, chars: 1 } as const;

const SPACE = 0x20;
const LONG_TERM = '长期';

export type IdNumberRefusal =
  /** The block is not 256 bytes. */
  | 'wrong-length'
  /** The card-type mark says a card whose layout this reader does not know (a foreign permanent resident card). */
  | 'unsupported-card'
  /** The field is not 17 digits and a check character, or the check character does not match: a misread. */
  | 'bad-id-number';

export type IdNumberRead =
  | { readonly ok: true; readonly idNumber: string }
  /** `cardType`: the card-type mark, for `unsupported-card` (one letter, or its code in hex). */
  | { readonly ok: false; readonly reason: IdNumberRefusal; readonly cardType?: string };

/**
 * The 18-character ID number from a text block, and nothing else from it. Reads only the ID-number field and
 * the card-type mark; does not modify `textBlock` (the read-reply parser zeroes it afterwards).
 */
export function readIdNumber(textBlock: Uint8Array): IdNumberRead {
  if (textBlock.length !== TEXT_BLOCK_LENGTH) return { ok: false, reason: 'wrong-length' };
  const mark = codeUnit(textBlock, CARD_TYPE.offset);
  if (mark !== SPACE && mark !== 0 && mark !== 0x4a /* J */) {
    const cardType = mark >= 0x41 && mark <= 0x5a ? String.fromCharCode(mark) : mark.toString(16).padStart(4, '0');
    return { ok: false, reason: 'unsupported-card', cardType };
  }
  // Built only from digits and X: a field holding anything else is refused before it becomes a string.
  let idNumber = '';
  for (let i = 0; i < ID_NUMBER.chars; i++) {
    const c = codeUnit(textBlock, ID_NUMBER.offset + 2 * i);
    if (c >= 0x30 && c <= 0x39) idNumber += String.fromCharCode(c);
    else if (i === ID_NUMBER.chars - 1 && (c === 0x58 || c === 0x78)) idNumber += 'X';
    else return { ok: false, reason: 'bad-id-number' };
  }
  if (!isWellFormedIdNumber(idNumber)) return { ok: false, reason: 'bad-id-number' };
  return { ok: true, idNumber };
}

/** The last day a card is valid, as `YYYY-MM-DD`, or `long-term` (长期, a card without an end date). */
export type CardValidUntil = string;

/** The card's "valid to" field; `null` when it is neither a real date nor 长期 (a misread; not fatal). */
export function readValidUntil(textBlock: Uint8Array): CardValidUntil | null {
  if (textBlock.length !== TEXT_BLOCK_LENGTH) return null;
  let digits = '';
  for (let i = 0; i < VALID_TO.chars; i++) {
    const c = codeUnit(textBlock, VALID_TO.offset + 2 * i);
    if (c < 0x30 || c > 0x39) {
      digits = '';
      break;
    }
    digits += String.fromCharCode(c);
  }
  if (digits.length === VALID_TO.chars) return isCalendarDate(digits) ? `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6)}` : null;
  for (let i = 0; i < VALID_TO.chars; i++) {
    const c = codeUnit(textBlock, VALID_TO.offset + 2 * i);
    const expected = i < LONG_TERM.length ? LONG_TERM.charCodeAt(i) : SPACE;
    if (c !== expected && !(i >= LONG_TERM.length && c === 0)) return null;
  }
  return 'long-term';
}

function codeUnit(bytes: Uint8Array, offset: number): number {
  return bytes[offset]! | (bytes[offset + 1]! << 8);
}

function isCalendarDate(yyyymmdd: string): boolean {
  const year = Number(yyyymmdd.slice(0, 4));
  const month = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  const date = new Date(Date.UTC(year, month - 1, day));
  return year >= 1900 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
