import { inspect } from 'node:util';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { checkIdNumber } from '../../controller/domain/identifiers.ts';
import {
  CardRead, IdCardFramer, TEXT_BLOCK_LENGTH, decodeFrame, encodeReadReply, encodeReply, parseReadReply,
  readIdNumber, readValidUntil, type IdCardFrame,
} from '../../firmware-bridge/idcard/index.ts';

// A card read keeps the ID number (masked whenever it is printed) and the end of validity; the name, the
// address and the photo are never decoded, never kept, and zeroed in the frame they arrived in.

const ID_NUMBER = '440106199001011235';
const MASKED = '440106********1235';
const NAME = '测试样例名';
const ADDRESS = '广州市白云区样例大道一号';
const NOW = Date.UTC(2026, 10, 23, 4, 0); // 2026-11-23, noon in Guangzhou

interface CardText {
  name?: string; gender?: string; nation?: string; birth?: string; address?: string; idNumber?: string;
  authority?: string; validFrom?: string; validTo?: string; cardType?: string;
}

/** A 256-byte text block laid out as a resident ID card's (HARDWARE.md §3), space-padded UTF-16LE. */
function textBlock(fields: CardText = {}): Buffer {
  const f = {
    name: NAME, gender: '1', nation: '01', birth: '19900101', address: ADDRESS, idNumber: ID_NUMBER,
    authority: '广州市公安局白云分局', validFrom: '20200101', validTo: '20400101', cardType: ' ', ...fields,
  };
  const block = Buffer.alloc(TEXT_BLOCK_LENGTH);
  for (let i = 0; i < TEXT_BLOCK_LENGTH; i += 2) block.writeUInt16LE(0x20, i);
  const put = (offset: number, size: number, text: string) => {
    const encoded = Buffer.from(text, 'utf16le');
    if (encoded.length > size) throw new Error(`'${text}' does not fit in ${size} bytes`);
    encoded.copy(block, offset);
  };
  put(0, 30, f.name); put(30, 2, f.gender); put(32, 4, f.nation); put(36, 16, f.birth); put(52, 70, f.address);
  put(122, 36, f.idNumber); put(158, 30, f.authority); put(188, 16, f.validFrom); put(204, 16, f.validTo);
  put(248, 2, f.cardType);
  return block;
}

/** A stand-in photo (the real one is a proprietary compressed image). */
const photo = () => Buffer.alloc(1024, 0x77);

function frameOf(wire: Buffer): IdCardFrame {
  const result = decodeFrame(wire);
  if (!result.ok) throw new Error(result.reason);
  return result.frame;
}

/** Every way a value might end up in a log line or a response. */
function renderings(value: unknown): string[] {
  return [JSON.stringify(value), inspect(value, { depth: Infinity, showHidden: true }), String(value), `${inspect(value)}`];
}

describe('reading the ID number off a card', () => {
  it('the fixture is a valid GB 11643 number, and its text block is laid out at the documented offsets', () => {
    expect(checkIdNumber(ID_NUMBER).ok).toBe(true);
    const block = textBlock();
    expect(block.subarray(122, 158).toString('utf16le')).toBe(ID_NUMBER);
    expect(block.subarray(0, 30).toString('utf16le').trimEnd()).toBe(NAME);
    expect(block.subarray(52, 122).toString('utf16le').trimEnd()).toBe(ADDRESS);
  });

  it('a 1295-byte read reply, arriving in chunks through the framer, gives the ID number and the end of validity', () => {
    const wire = encodeReadReply(textBlock(), photo());
    expect(wire.length).toBe(1295);
    expect(wire.subarray(0, 14)).toEqual(Buffer.from('AAAAAA9669050800009001000400', 'hex'));
    const framer = new IdCardFramer();
    const frames = [wire.subarray(0, 9), wire.subarray(9, 700), wire.subarray(700)].flatMap((c) => framer.push(c));
    expect(frames).toHaveLength(1);
    const result = parseReadReply(frames[0]!);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.card.idNumber).toBe(ID_NUMBER);
    expect(result.card.masked).toBe(MASKED);
    expect(result.card.validUntil).toBe('2040-01-01');
    expect(result.card.isExpired(NOW)).toBe(false);
  });

  it('never shows the name, the address or the full ID number in anything the API returns', () => {
    const frame = frameOf(encodeReadReply(textBlock(), photo()));
    const beforeParsing = renderings(frame);
    const result = parseReadReply(frame);
    expect(result.ok).toBe(true);
    const card = result.ok ? result.card : null;
    const nameBytes = Buffer.from(NAME, 'utf16le').toString('hex');
    for (const value of [result, card, frame, { ...card }, structuredClone(card)]) {
      for (const text of [...beforeParsing, ...renderings(value)]) {
        expect(text).not.toContain(NAME);
        expect(text).not.toContain(ADDRESS);
        expect(text).not.toContain(ID_NUMBER);
        expect(text.replace(/[^0-9a-f]/gi, '').toLowerCase()).not.toContain(nameBytes);
      }
    }
    expect(JSON.stringify(card)).toBe(`{"idNumber":"${MASKED}","validUntil":"2040-01-01"}`);
    expect(String(card)).toBe(`CardRead(${MASKED})`);
    expect(inspect(card)).toBe(`CardRead { idNumber: '${MASKED}', validUntil: '2040-01-01' }`);
    expect(Object.keys({ ...card })).toEqual(['validUntil']);
  });

  it('a card logged by mistake through pino shows only the masked number', () => {
    const lines: string[] = [];
    const logger = pino({}, { write: (s: string) => void lines.push(s) });
    const result = parseReadReply(frameOf(encodeReadReply(textBlock(), photo())));
    logger.info({ card: result.ok ? result.card : null, result }, 'id card read');
    expect(lines.join('')).toContain(MASKED);
    expect(lines.join('')).not.toContain(ID_NUMBER);
  });

  it('zeroes the frame (text block and photo) once the number is taken out, whatever the outcome', () => {
    for (const wire of [encodeReadReply(textBlock(), photo()), encodeReadReply(textBlock({ idNumber: '440106199001011234' }), photo()), encodeReadReply(textBlock({ cardType: 'I' }), photo())]) {
      const frame = frameOf(wire);
      parseReadReply(frame);
      expect(frame.length).toBe(1287);
      expect(frame.payload.every((b) => b === 0)).toBe(true);
    }
  });

  it('reads an ID number ending in X, and a long-term (长期) card that never expires', () => {
    const result = parseReadReply(frameOf(encodeReadReply(textBlock({ idNumber: '11010519491231002X', validTo: '长期' }), photo())));
    expect(result.ok && [result.card.idNumber, result.card.validUntil, result.card.isExpired(NOW)]).toEqual(['11010519491231002X', 'long-term', false]);
  });

  it('says when a card has expired, by the date in China (valid through its last day)', () => {
    const card = new CardRead(ID_NUMBER, '2026-11-23');
    expect(card.isExpired(Date.UTC(2026, 10, 23, 15, 59, 59))).toBe(false); // 23:59:59 in Guangzhou
    expect(card.isExpired(Date.UTC(2026, 10, 23, 16, 0, 0))).toBe(true); // midnight, the 24th
    expect(new CardRead(ID_NUMBER, null).isExpired(NOW)).toBe(null);
  });

  it('accepts a Hong Kong/Macao/Taiwan residence permit (same layout, mark J), refuses a foreign permanent resident card', () => {
    const permit = parseReadReply(frameOf(encodeReadReply(textBlock({ idNumber: withCheck('81000019900101123'), cardType: 'J' }), photo())));
    expect(permit.ok && permit.card.idNumber).toBe(withCheck('81000019900101123'));
    const foreign = parseReadReply(frameOf(encodeReadReply(textBlock({ idNumber: 'ABC110079050101CAN', cardType: 'I' }), photo())));
    expect(foreign).toEqual({ ok: false, reason: 'unsupported-card', status: 'ok', sw3: 0x90, cardType: 'I' });
  });

  it('refuses a misread number (bad check character, a space, a letter) without echoing it', () => {
    for (const idNumber of ['440106199001011234', '44010619900101123 ', '4401061990O1011235', '']) {
      const result = parseReadReply(frameOf(encodeReadReply(textBlock({ idNumber }), photo())));
      expect(result).toEqual({ ok: false, reason: 'bad-id-number', status: 'ok', sw3: 0x90 });
    }
  });

  it('refuses a reply whose status is not ok, or whose lengths do not add up', () => {
    expect(parseReadReply(frameOf(encodeReply('read-failed')))).toEqual({ ok: false, reason: 'not-ok', status: 'read-failed', sw3: 0x41 });
    expect(parseReadReply(frameOf(encodeReply('ok', Buffer.from('0100', 'hex'))))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseReadReply(frameOf(encodeReadReply(Buffer.alloc(254), photo())))).toMatchObject({ ok: false, reason: 'malformed' });
    const lying = encodeReadReply(textBlock(), photo());
    lying[13] = 0x02; // photo length 0x0402
    lying[lying.length - 1]! ^= 0x02;
    expect(parseReadReply(frameOf(lying))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseReadReply(frameOf(Buffer.from('AAAAAA96690003009093', 'hex')))).toEqual({ ok: false, reason: 'too-short' });
  });
});

describe('the text block readers', () => {
  it('readIdNumber answers the ID number and nothing else, and leaves the block as it was', () => {
    const block = textBlock();
    const before = Buffer.from(block);
    const result = readIdNumber(block);
    expect(result).toEqual({ ok: true, idNumber: ID_NUMBER });
    expect(Object.keys(result)).toEqual(['ok', 'idNumber']);
    expect(block).toEqual(before);
    expect(readIdNumber(block.subarray(0, 255))).toEqual({ ok: false, reason: 'wrong-length' });
  });

  it('readValidUntil reads a date or 长期, and gives null for anything else', () => {
    expect(readValidUntil(textBlock({ validTo: '20301231' }))).toBe('2030-12-31');
    expect(readValidUntil(textBlock({ validTo: '长期' }))).toBe('long-term');
    expect(readValidUntil(textBlock({ validTo: '20300231' }))).toBe(null);
    expect(readValidUntil(textBlock({ validTo: '2030' }))).toBe(null);
    expect(readValidUntil(textBlock({ validTo: '长期有效' }))).toBe(null);
  });

  it('any valid ID number round-trips; any bytes at all never throw', () => {
    const idNumber = fc.stringMatching(/^[1-9]\d{16}$/).map(withCheck);
    fc.assert(fc.property(idNumber, (id) => {
      expect(readIdNumber(textBlock({ idNumber: id }))).toEqual({ ok: true, idNumber: id });
    }));
    fc.assert(fc.property(fc.uint8Array({ minLength: 256, maxLength: 256 }), fc.uint8Array({ maxLength: 1300 }), (block, payload) => {
      readIdNumber(block);
      readValidUntil(block);
      const result = parseReadReply(frameOf(encodeReadReply(block, payload.subarray(0, 1024))));
      if (result.ok) expect(result.card.idNumber).toMatch(/^\d{17}[\dX]$/);
      parseReadReply(frameOf(encodeReply('ok', payload.subarray(0, 1280))));
    }));
  });
});

/** The GB 11643 check character, written out from the standard independently of the code under test. */
function withCheck(first17: string): string {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((acc, c, i) => acc + Number(c) * weights[i]!, 0);
  return first17 + '10X98765432'[sum % 11];
}
