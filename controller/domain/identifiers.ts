import { z } from 'zod';

// The identifiers a case carries (DOMAIN.md "Identifiers"): the company's unified social credit code, the
// applicant's resident ID number and mobile number. Pure functions: normalise what a person typed, check it,
// mask it for display. The messages say what to do; ID and phone messages never echo the value (personal
// data) and never reveal an ID number's correct check digit.

/** The result of checking a typed identifier: its normalised form, or a reason a clerk can act on. */
export type IdentifierCheck = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly message: string };

const ok = (value: string): IdentifierCheck => ({ ok: true, value });
const problem = (message: string): IdentifierCheck => ({ ok: false, message });

/** NFKC turns full-width digits and letters (as a Chinese input method types them) into ASCII. */
const compact = (s: string) => s.normalize('NFKC').replace(/\s+/g, '');

// ---------------------------------------------------------------------------------------------------------
// 统一社会信用代码 (USCC), GB 32100-2015

export const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const usccWeights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;

/**
 * The first character: the registration authority. GB 32100-2015 defines 1 (机构编制), 5 (民政), 9 (工商, now
 * market regulation) and Y (other); 2–4, 6–8, A and N were assigned to further authorities since (foreign
 * affairs, justice, culture, tourism, religion, trade unions, the CMC, agriculture) and appear on real codes.
 */
export const USCC_REGISTRATION_AUTHORITIES = '123456789ANY';

/** What people type for the letters the code never uses. */
const usccLookalikes: Record<string, string> = { O: '0', I: '1', Z: '2', S: '5', V: 'U' };

export function normaliseUscc(s: string): string {
  return compact(s).toUpperCase();
}

/** The GB 32100-2015 check character for the first 17 characters (which must all be in the alphabet). */
export function usccCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_ALPHABET.indexOf(first17.charAt(i)) * (usccWeights[i] ?? 0);
  return USCC_ALPHABET.charAt((31 - (sum % 31)) % 31);
}

export function checkUscc(input: string): IdentifierCheck {
  const s = normaliseUscc(input);
  const retype = 're-type the code from the business licence';
  if (s.length !== 18) return problem(`a unified social credit code has 18 characters, this has ${s.length}: ${retype}`);
  for (let i = 0; i < 18; i++) {
    const c = s.charAt(i);
    if (USCC_ALPHABET.includes(c)) continue;
    const lookalike = usccLookalikes[c];
    const hint = lookalike === undefined ? '' : ` (did you mean '${lookalike}'?)`;
    return problem(`character ${i + 1} ('${c}') never appears in a unified social credit code${hint}: only digits and the letters ${USCC_ALPHABET.slice(10)} are used; ${retype}`);
  }
  if (!USCC_REGISTRATION_AUTHORITIES.includes(s.charAt(0))) {
    return problem(`the first character ('${s.charAt(0)}') is not a registration authority code (a company registered with market regulation starts with 9): ${retype}`);
  }
  if (!/^[1-9]$/.test(s.charAt(1))) {
    return problem(`the second character ('${s.charAt(1)}') should be the entity type, a digit 1–9 (a company is 91): ${retype}`);
  }
  if (!/^\d{6}$/.test(s.slice(2, 8))) {
    return problem(`characters 3–8 ('${s.slice(2, 8)}') should be the 6-digit administrative division code, e.g. 440111: ${retype}`);
  }
  const expected = usccCheckCharacter(s);
  if (s.charAt(17) !== expected) {
    return problem(`the code does not add up: after these 17 characters the check character would be '${expected}', not '${s.charAt(17)}'; a character is probably mistyped: ${retype}`);
  }
  return ok(s);
}

export function isValidUscc(s: string): boolean {
  return checkUscc(s).ok;
}

// ---------------------------------------------------------------------------------------------------------
// 居民身份证号码, GB 11643-1999 (also the 2023 foreign permanent resident ID card, which starts with 9)

const idWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const idCheckDigits = '10X98765432';
const CHINA_UTC_OFFSET_MS = 8 * 3600_000; // China has one time zone and no daylight saving

export interface IdNumberOptions {
  /** The clock, in ms since the epoch, for "a birth date is not in the future". */
  readonly now?: number;
}

/** Trims, drops spaces, turns full-width characters into ASCII and a lower-case check `x` into `X`. */
export function normaliseIdNumber(s: string): string {
  return compact(s).toUpperCase();
}

function idCheckDigit(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17.charAt(i)) * (idWeights[i] ?? 0);
  return idCheckDigits.charAt(sum % 11);
}

/** YYYYMMDD is a real calendar day from 1900-01-01 up to today (China's date). */
function isPlausibleBirthDate(yyyymmdd: string, now: number): boolean {
  const year = Number(yyyymmdd.slice(0, 4));
  const month = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  if (year < 1900 || month < 1 || month > 12 || day < 1) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return false;
  const today = new Date(now + CHINA_UTC_OFFSET_MS);
  return date.getTime() <= Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
}

export function checkIdNumber(input: string, options: IdNumberOptions = {}): IdentifierCheck {
  const s = normaliseIdNumber(input);
  const retype = 're-type the 18-character ID number';
  if (s.length !== 18) return problem(`a resident ID number has 18 characters, this has ${s.length}: ${retype}`);
  if (!/^\d{17}[\dX]$/.test(s)) return problem(`a resident ID number is 17 digits followed by a digit or X: ${retype}`);
  if (!isPlausibleBirthDate(s.slice(6, 14), options.now ?? Date.now())) {
    return problem(`characters 7–14 should be the date of birth (YYYYMMDD) and are not a real one: ${retype}`);
  }
  if (s.charAt(17) !== idCheckDigit(s)) return problem(`check digit does not match: ${retype}`);
  return ok(s);
}

export function isValidIdNumber(s: string, options: IdNumberOptions = {}): boolean {
  return checkIdNumber(s, options).ok;
}

/** The last 6 characters of the ID number: the kiosk's second factor (CONTRACT §3). */
export function idSuffix(idNumber: string): string {
  return normaliseIdNumber(idNumber).slice(-6);
}

// ---------------------------------------------------------------------------------------------------------
// Mainland mobile numbers

/** Drops spaces and dashes and a +86 / 0086 / 86 country prefix: '+86 138-0013-8000' → '13800138000'. */
export function normaliseMobile(s: string): string {
  const digits = s.normalize('NFKC').replace(/[\s-]+/g, '');
  const match = /^(?:\+86|0086|86)(1\d{10})$/.exec(digits);
  return match?.[1] ?? digits;
}

export function checkMobile(input: string): IdentifierCheck {
  const s = normaliseMobile(input);
  const example = 'e.g. 13800138000 (+86, spaces and dashes are fine)';
  if (/^(?:\+|00)/.test(s)) return problem(`only mainland China mobile numbers (+86) can receive the pickup SMS, ${example}: ask for a mainland mobile number`);
  if (!/^\d+$/.test(s)) return problem(`a mobile number is digits only, ${example}: re-type the phone number`);
  if (s.length !== 11) return problem(`a mainland mobile number has 11 digits, this has ${s.length}, ${example}: re-type the phone number`);
  if (!/^1[3-9]\d{9}$/.test(s)) return problem(`a mainland mobile number starts with 13–19, ${example}: re-type the phone number, or ask for a mobile instead of a landline`);
  return ok(s);
}

export function isValidMainlandMobile(s: string): boolean {
  return checkMobile(s).ok;
}

// ---------------------------------------------------------------------------------------------------------
// Masking (GB/T 35273): what events, logs, audit entries and pages show

/** '13800138000' → '138****8000'; anything that is not an 11-digit number is masked whole. */
export function maskPhone(phone: string): string {
  const s = normaliseMobile(phone);
  return /^\d{11}$/.test(s) ? `${s.slice(0, 3)}****${s.slice(7)}` : '*'.repeat(s.length);
}

/** '440106199001011235' → '440106********1235'; anything that is not 18 characters is masked whole. */
export function maskIdNumber(idNumber: string): string {
  const s = normaliseIdNumber(idNumber);
  return s.length === 18 ? `${s.slice(0, 6)}********${s.slice(14)}` : '*'.repeat(s.length);
}

// ---------------------------------------------------------------------------------------------------------
// zod schemas for the API edge: each normalises, then checks, and names the fix in its message

function identifierSchema(what: string, check: (s: string) => IdentifierCheck, normalise: (s: string) => string) {
  return z
    .string({ error: `${what} is required, as text` })
    .overwrite(normalise)
    .superRefine((s, ctx) => {
      const result = check(s);
      if (!result.ok) ctx.addIssue({ code: 'custom', message: result.message });
    });
}

export const usccSchema = identifierSchema('the unified social credit code (18 characters, on the business licence)', checkUscc, normaliseUscc);

/** The ID number schema with an injected clock (for "a birth date is not in the future"). */
export function makeIdNumberSchema(clock: () => number = Date.now) {
  return identifierSchema('the 18-character resident ID number', (s) => checkIdNumber(s, { now: clock() }), normaliseIdNumber);
}
export const idNumberSchema = makeIdNumberSchema();

export const mobileSchema = identifierSchema('the mainland mobile number (11 digits)', checkMobile, normaliseMobile);

/** The kiosk's second factor: the last 6 characters of the ID number, typed or read from the card. */
export const idSuffixSchema = z
  .string({ error: 'idSuffix is the last 6 characters of the ID number' })
  .overwrite(normaliseIdNumber)
  .regex(/^\d{5}[\dX]$/, 'idSuffix is the last 6 characters of the ID number: 5 digits and a digit or X');
