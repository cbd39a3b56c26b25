import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkIdNumber, maskIdNumber as controllerMask } from '../../controller/domain/identifiers.ts';
import {
  COMMAND_CODES, IdCardFrame, STATUS_CODES, checksum, decodeFrame, encodeFrame, encodeReply, encodeRequest,
  isWellFormedIdNumber, maskIdNumber, parseRequest, readReplyHeader, statusCategory, statusOf, type IdCardStatus,
} from '../../firmware-bridge/idcard/index.ts';

// The ID-card reader's frames byte for byte, as HARDWARE.md §3 gives them.

const bytes = (hex: string) => Buffer.from(hex.replace(/\s+/g, ''), 'hex');

function decoded(hex: string): IdCardFrame {
  const result = decodeFrame(bytes(hex));
  if (!result.ok) throw new Error(`expected a frame, got ${result.reason}`);
  return result.frame;
}

const findCardReplyFound = 'AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97';
const findCardReplyNoCard = 'AA AA AA 96 69 00 04 00 00 80 84';
const selectCardReplyOk = `AA AA AA 96 69 00 0C 00 00 90 ${'00 '.repeat(8)} 9C`;

describe('ID-card reader requests', () => {
  it('are byte for byte the frames of HARDWARE.md: find, select, read text + photo', () => {
    expect(encodeRequest('find-card')).toEqual(bytes('AA AA AA 96 69 00 03 20 01 22'));
    expect(encodeRequest('select-card')).toEqual(bytes('AA AA AA 96 69 00 03 20 02 21'));
    expect(encodeRequest('read-card')).toEqual(bytes('AA AA AA 96 69 00 03 30 01 32'));
  });

  it('are fresh buffers each time, so a caller that zeroes or reuses one cannot corrupt the next', () => {
    const first = encodeRequest('find-card');
    first.fill(0);
    expect(encodeRequest('find-card')).toEqual(bytes('AA AA AA 96 69 00 03 20 01 22'));
  });

  it('are recognised by an emulator of the reader; anything else is an unknown command named in hex', () => {
    for (const command of Object.keys(COMMAND_CODES) as (keyof typeof COMMAND_CODES)[]) {
      expect(parseRequest(decoded(encodeRequest(command).toString('hex')))).toEqual({ ok: true, command });
    }
    expect(parseRequest(decoded('AA AA AA 96 69 00 03 30 10 23'))).toEqual({ ok: false, reason: 'unknown-command', code: '30 10' });
  });
});

describe('ID-card reader replies', () => {
  it('card found: AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97', () => {
    expect(readReplyHeader(decoded(findCardReplyFound))).toEqual({ ok: true, header: { sw1: 0, sw2: 0, sw3: 0x9f, status: 'card-found', dataLength: 4 } });
    expect(encodeReply('card-found', Buffer.alloc(4))).toEqual(bytes(findCardReplyFound));
  });

  it('no card: … 00 04 00 00 80 84, whose CHK is the XOR of LEN1 through SW3', () => {
    const frame = bytes(findCardReplyNoCard);
    expect(0x00 ^ 0x04 ^ 0x00 ^ 0x00 ^ 0x80).toBe(0x84);
    expect(checksum(frame, 5, frame.length - 1)).toBe(frame.at(-1));
    expect(readReplyHeader(decoded(findCardReplyNoCard))).toEqual({ ok: true, header: { sw1: 0, sw2: 0, sw3: 0x80, status: 'no-card', dataLength: 0 } });
    expect(encodeReply('no-card')).toEqual(frame);
  });

  it('select ok: AA AA AA 96 69 00 0C 00 00 90 + 8 × 00 + 9C', () => {
    expect(readReplyHeader(decoded(selectCardReplyOk))).toEqual({ ok: true, header: { sw1: 0, sw2: 0, sw3: 0x90, status: 'ok', dataLength: 8 } });
    expect(encodeReply('ok', Buffer.alloc(8))).toEqual(bytes(selectCardReplyOk));
  });

  it('a payload too short for SW1 SW2 SW3 is refused as a reply', () => {
    expect(readReplyHeader(decoded('AA AA AA 96 69 00 03 00 90 93'))).toEqual({ ok: false, reason: 'too-short' });
  });

  it('names every SW3 the manuals list, and says what a driver should do about it', () => {
    const expected: [number, IdCardStatus, string][] = [
      [0x90, 'ok', 'success'], [0x9f, 'card-found', 'success'], [0x80, 'no-card', 'no-card'], [0x81, 'select-failed', 'card'],
      [0x41, 'read-failed', 'card'], [0x10, 'checksum-error', 'transmission'], [0x11, 'length-error', 'transmission'],
      [0x31, 'reader-not-authenticated', 'card'], [0x32, 'card-not-authenticated', 'card'], [0x33, 'data-not-verified', 'card'],
      [0x60, 'sam-self-test-failed', 'module'], [0x66, 'sam-not-authorised', 'module'],
    ];
    for (const [code, name, category] of expected) {
      expect(statusOf(code), `SW3 ${code.toString(16)}`).toBe(name);
      expect(statusCategory(name)).toBe(category);
    }
    for (const [name, code] of Object.entries(STATUS_CODES)) expect(statusOf(code)).toBe(name);
    expect(new Set(Object.values(STATUS_CODES)).size).toBe(Object.keys(STATUS_CODES).length);
  });

  it('an SW3 the manuals do not list is `unknown`, and the header keeps its number', () => {
    const result = readReplyHeader(decoded(encodeReply(0x5a).toString('hex')));
    expect(result).toEqual({ ok: true, header: { sw1: 0, sw2: 0, sw3: 0x5a, status: 'unknown', dataLength: 0 } });
    expect(statusCategory('unknown')).toBe('unknown');
  });
});

describe('decoding one frame', () => {
  it('refuses, with a reason, what is not exactly one good frame', () => {
    expect(decodeFrame(bytes('FA FD 99 99'))).toEqual({ ok: false, reason: 'no-preamble' });
    expect(decodeFrame(bytes('AA AA AA 96 69 00 04 00 00 80'))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeFrame(bytes('AA AA AA 96 69 00 04 00 00 80 85'))).toEqual({ ok: false, reason: 'bad-checksum' });
    expect(decodeFrame(bytes('AA AA AA 96 69 00 04 00 00 80 84 00'))).toEqual({ ok: false, reason: 'trailing-bytes' });
    expect(decodeFrame(bytes('AA AA AA 96 69 00 00 00'))).toEqual({ ok: false, reason: 'bad-length' });
    expect(decodeFrame(bytes('AA AA AA 96 69 00 02 20 22'))).toEqual({ ok: false, reason: 'bad-length' });
    // LEN 05 09 would make a frame one byte longer than the largest reply the cabinet asks for.
    expect(decodeFrame(bytes('AA AA AA 96 69 05 09'))).toEqual({ ok: false, reason: 'bad-length' });
    expect(decodeFrame(bytes('AA AA AA 96 69 FF FF'))).toEqual({ ok: false, reason: 'bad-length' });
  });

  it('copies the payload: the bytes it was given can be zeroed without touching the frame', () => {
    const wire = bytes(findCardReplyFound);
    const frame = decoded(wire.toString('hex'));
    wire.fill(0);
    expect(readReplyHeader(frame)).toMatchObject({ ok: true, header: { status: 'card-found' } });
  });

  it('encodes any payload so that it decodes back to the same payload', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 2, maxLength: 1287 }), (payload) => {
      const result = decodeFrame(encodeFrame(payload));
      expect(result.ok && Buffer.from(result.frame.payload)).toEqual(Buffer.from(payload));
    }));
  });

  it('refuses to encode a frame LEN cannot express (a bug of the caller, so it throws)', () => {
    expect(() => encodeFrame(new Uint8Array(0))).toThrow(RangeError);
    expect(() => encodeFrame(new Uint8Array(0xffff))).toThrow(RangeError);
  });

  it('never shows a frame\'s data when it is logged: only its length and status bytes', () => {
    const frame = decoded(selectCardReplyOk);
    expect(JSON.stringify(frame)).toBe('{"length":11,"head":"00 00 90"}');
    expect(String(frame)).toBe('IdCardFrame(11 bytes, 00 00 90 …)');
    frame.wipe();
    expect([...frame.payload].every((b) => b === 0)).toBe(true);
  });
});

describe('the ID number check of the codec agrees with the controller\'s', () => {
  const birthDate = fc.date({ min: new Date(Date.UTC(1900, 0, 1)), max: new Date(Date.UTC(2020, 11, 31)), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10).replaceAll('-', ''));
  const first17 = fc.tuple(fc.stringMatching(/^[1-9]\d{5}$/), birthDate, fc.stringMatching(/^\d{3}$/)).map(([area, birth, seq]) => area + birth + seq);

  it('accepts exactly the check character GB 11643 gives, as the controller does', () => {
    fc.assert(fc.property(first17, (prefix) => {
      for (const c of '0123456789X') {
        const s = prefix + c;
        expect(isWellFormedIdNumber(s), s).toBe(checkIdNumber(s).ok);
      }
    }));
    expect(isWellFormedIdNumber('440106199001011235')).toBe(true);
    expect(isWellFormedIdNumber('11010519491231002X')).toBe(true);
    expect(isWellFormedIdNumber('11010519491231002x')).toBe(false);
  });

  it('masks as the controller masks', () => {
    fc.assert(fc.property(first17, (prefix) => {
      expect(maskIdNumber(`${prefix}0`)).toBe(controllerMask(`${prefix}0`));
    }));
    expect(maskIdNumber('440106199001011235')).toBe('440106********1235');
  });
});
