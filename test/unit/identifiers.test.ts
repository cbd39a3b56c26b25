import { describe, expect, it } from 'vitest';
import {
  USCC_ALPHABET, checkIdNumber, checkUscc, idNumberSchema, idSuffix, idSuffixSchema, isValidIdNumber,
  isValidMainlandMobile, isValidUscc, makeIdNumberSchema, maskIdNumber, maskPhone, mobileSchema,
  normaliseIdNumber, normaliseMobile, usccCheckCharacter, usccSchema,
} from '../../controller/domain/identifiers.ts';

// The identifiers the contract's examples and smoke test use: all must be valid, or the fixtures lie.
const contractUsccs = ['91440111MA59C3K8L0', '91440101MA5CXY7A25'];
const contractIds = ['440106199001011235', '440111198503120024'];
/** GB 11643-1999's own example, with an X check digit. */
const idEndingInX = '11010519491231002X';

const NOW = Date.UTC(2026, 10, 23, 4, 0); // 2026-11-23, noon in Guangzhou

/** The ID check digit, written out from the standard independently of the code under test. */
function withIdCheckDigit(first17: string): string {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((acc, c, i) => acc + Number(c) * weights[i]!, 0);
  return first17 + '10X98765432'[sum % 11];
}

/** Every code that differs from `valid` in exactly one position, using characters from `alphabet`. */
function* singleCharacterChanges(valid: string, alphabet: string): Generator<string> {
  for (let i = 0; i < valid.length; i++) {
    for (const c of alphabet) if (c !== valid[i]) yield valid.slice(0, i) + c + valid.slice(i + 1);
  }
}

describe('unified social credit code (GB 32100-2015)', () => {
  it('accepts the contract\'s codes and well-known real ones', () => {
    for (const code of [...contractUsccs, '91440300708461136T', '914403001922038216']) expect(isValidUscc(code), code).toBe(true);
  });

  it('rejects every single-character change of a valid code', () => {
    for (const valid of contractUsccs) {
      let changes = 0;
      for (const changed of singleCharacterChanges(valid, USCC_ALPHABET)) {
        expect(isValidUscc(changed), changed).toBe(false);
        changes++;
      }
      expect(changes).toBe(18 * 30);
    }
  });

  it('names the expected check character and asks for the whole code again', () => {
    const result = checkUscc('91440111MA59C3K8L1');
    expect(result).toEqual({ ok: false, message: expect.stringContaining("would be '0', not '1'") });
    expect(!result.ok && result.message).toMatch(/re-type the code from the business licence/);
  });

  it('explains letters that never appear in a code, suggesting the look-alike', () => {
    const result = checkUscc('91440111MA59C3K8LO');
    expect(!result.ok && result.message).toMatch(/character 18 \('O'\) never appears.*did you mean '0'/);
  });

  it('checks the structure: registration authority, entity type, 6-digit division code, length', () => {
    const structural = (first17: string) => first17 + usccCheckCharacter(first17);
    expect(isValidUscc(structural('91440111MA59C3K8L'))).toBe(true);
    expect(checkUscc(structural('B1440111MA59C3K8L'))).toMatchObject({ ok: false, message: expect.stringMatching(/registration authority/) });
    expect(checkUscc(structural('90440111MA59C3K8L'))).toMatchObject({ ok: false, message: expect.stringMatching(/entity type/) });
    expect(checkUscc(structural('9A440111MA59C3K8L'))).toMatchObject({ ok: false, message: expect.stringMatching(/entity type/) });
    expect(checkUscc(structural('9144A111MA59C3K8L'))).toMatchObject({ ok: false, message: expect.stringMatching(/administrative division/) });
    expect(checkUscc('91440111MA59C3K8L')).toMatchObject({ ok: false, message: expect.stringMatching(/18 characters, this has 17/) });
  });

  it('accepts what people type: lower case, spaces, full-width characters', () => {
    expect(usccSchema.parse(' 91440111ma59c3k8l0 ')).toBe('91440111MA59C3K8L0');
    expect(usccSchema.parse('９１４４０１１１ＭＡ５９Ｃ３Ｋ８Ｌ０')).toBe('91440111MA59C3K8L0');
    expect(usccSchema.safeParse(18).error?.issues[0]?.message).toMatch(/unified social credit code/);
  });
});

describe('resident ID number (GB 11643-1999)', () => {
  it('accepts the contract\'s ID numbers and the standard\'s X example', () => {
    for (const id of [...contractIds, idEndingInX]) expect(isValidIdNumber(id, { now: NOW }), id).toBe(true);
  });

  it('rejects every single-character change of a valid number', () => {
    for (const valid of [...contractIds, idEndingInX]) {
      for (const changed of singleCharacterChanges(valid, '0123456789X')) expect(isValidIdNumber(changed, { now: NOW }), changed).toBe(false);
    }
  });

  it('takes a lower-case x as the check character X', () => {
    expect(normaliseIdNumber(' 11010519491231002x ')).toBe(idEndingInX);
    expect(isValidIdNumber('11010519491231002x', { now: NOW })).toBe(true);
    expect(idNumberSchema.parse('11010519491231002x')).toBe(idEndingInX);
    expect(idSuffix('11010519491231002x')).toBe('31002X');
  });

  it('needs a real calendar birth date from 1900 up to today (China\'s date)', () => {
    const born = (yyyymmdd: string) => withIdCheckDigit(`440106${yyyymmdd}001`);
    const valid = (yyyymmdd: string, now = NOW) => isValidIdNumber(born(yyyymmdd), { now });
    expect(valid('20000229')).toBe(true); // leap day
    expect(valid('19000101')).toBe(true);
    expect(valid('20261123')).toBe(true); // born today
    expect(valid('20010229')).toBe(false);
    expect(valid('19991301')).toBe(false);
    expect(valid('19990431')).toBe(false);
    expect(valid('19990100')).toBe(false);
    expect(valid('18991231')).toBe(false);
    expect(valid('20261124')).toBe(false); // tomorrow
    // 17:00 UTC on the 23rd is already the 24th in Guangzhou.
    expect(valid('20261124', Date.UTC(2026, 10, 23, 17, 0))).toBe(true);
    expect(checkIdNumber(born('20010229'), { now: NOW })).toMatchObject({ ok: false, message: expect.stringMatching(/date of birth/) });
  });

  it('never reveals the right check digit nor echoes the number', () => {
    const wrong = '440106199001011236';
    const result = checkIdNumber(wrong, { now: NOW });
    expect(result).toEqual({ ok: false, message: 'check digit does not match: re-type the 18-character ID number' });
    const issues = idNumberSchema.safeParse(wrong).error?.issues ?? [];
    expect(issues).toHaveLength(1);
    expect(JSON.stringify(issues)).not.toMatch(/4401|1235|1236/);
  });

  it('rejects wrong lengths and letters other than a final X', () => {
    expect(checkIdNumber('44010619900101123', { now: NOW })).toMatchObject({ ok: false, message: expect.stringMatching(/18 characters, this has 17/) });
    expect(isValidIdNumber('4401061990010112X5', { now: NOW })).toBe(false);
    expect(isValidIdNumber('', { now: NOW })).toBe(false);
  });

  it('uses the injected clock in the schema', () => {
    const schema = makeIdNumberSchema(() => Date.UTC(1985, 2, 11));
    expect(schema.safeParse('440111198503120024').success).toBe(false); // not born yet
    expect(makeIdNumberSchema(() => NOW).parse('440111198503120024')).toBe('440111198503120024');
  });
});

describe('mainland mobile numbers', () => {
  it('accepts 11 digits 13–19 with an optional +86 and spaces or dashes', () => {
    for (const typed of ['13800138000', '+86 138 0013 8000', '86-138-0013-8000', '0086 13800138000', '+8613800138000']) {
      expect(isValidMainlandMobile(typed), typed).toBe(true);
      expect(normaliseMobile(typed)).toBe('13800138000');
    }
    expect(mobileSchema.parse(' 199-0000-0000 ')).toBe('19900000000');
  });

  it('rejects landlines, short numbers and other prefixes, without echoing the number', () => {
    for (const typed of ['12800138000', '1380013800', '138001380001', '02012345678', '+85291234567', '1380013800a', '']) {
      expect(isValidMainlandMobile(typed), typed).toBe(false);
    }
    const message = mobileSchema.safeParse('12800138000').error?.issues[0]?.message ?? '';
    expect(message).toMatch(/starts with 13–19/);
    expect(message).not.toContain('12800138000');
    expect(mobileSchema.safeParse('+852 9123 4567').error?.issues[0]?.message).toMatch(/only mainland China mobile numbers/);
  });
});

describe('masking and the ID suffix', () => {
  it('masks a phone as 138****8000 and an ID as 440106********1235', () => {
    expect(maskPhone('13800138000')).toBe('138****8000');
    expect(maskPhone('+86 138-0013-8000')).toBe('138****8000');
    expect(maskIdNumber('440106199001011235')).toBe('440106********1235');
    expect(maskIdNumber('11010519491231002x')).toBe('110105********002X');
  });

  it('masks anything malformed whole rather than leak part of it', () => {
    expect(maskPhone('12345')).toBe('*****');
    expect(maskIdNumber('4401061990')).toBe('**********');
  });

  it('the ID suffix is the last 6 characters, and the kiosk schema reads it the same way', () => {
    expect(idSuffix('440106199001011235')).toBe('011235');
    expect(idSuffixSchema.parse(' 31002x')).toBe('31002X');
    expect(idSuffixSchema.safeParse('1234X5').success).toBe(false);
    expect(idSuffixSchema.safeParse('12345').success).toBe(false);
  });
});
