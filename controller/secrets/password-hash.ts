import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// Staff passwords at rest: scrypt from node:crypto (memory-hard, in libuv's thread pool, so a sign-in never
// blocks the event loop), a random salt each, and the parameters stored with the hash so they can be raised
// later without invalidating old ones. Stored as `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`.

const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
/** 128 × N × r bytes are needed; Node's default cap (32 MiB) is exactly that, so leave room. */
const MAX_MEM = 64 * 1024 * 1024;

function derive(password: string, salt: Buffer, options: ScryptOptions & { N: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...options, maxmem: MAX_MEM }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, { N, r: R, p: P });
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** True when `password` is the one `stored` was made from; false for anything else, a damaged hash included. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![n, r, p].every((v) => Number.isInteger(v) && v > 0) || n > 2 ** 20) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== KEY_LENGTH) return false;
  const key = await derive(password, salt, { N: n, r, p });
  return timingSafeEqual(key, expected);
}

/** A hash of nothing anyone knows: spent on unknown names so that they take as long as wrong passwords. */
let decoy: Promise<string> | null = null;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(18).toString('base64url'));
  return decoy;
}

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

// The passwords people pick first (and the product's own demo words): refused whatever their length.
const COMMON = new Set([
  '1234567890', '12345678910', '0123456789', '1111111111', '0000000000', 'qwertyuiop', 'qwertyuiop1', 'password12',
  'password123', 'password1234', 'passw0rd123', 'iloveyou12', 'abcdefghij', 'abc1234567', 'a123456789', 'admin12345',
  'admin123456', 'administrator', 'woaini1314', 'woaini520', '5201314520', 'changeme123', 'welcome123', 'govlocker1',
  'govlocker123', 'govlocker2026', 'demo-token', 'demo-admin-token', 'qq123456789', '1q2w3e4r5t', '1qaz2wsx3edc', 'zxcvbnm123',
]);

/**
 * The password policy (NIST SP 800-63B: length over composition rules, no known-bad passwords): at least
 * `PASSWORD_MIN_LENGTH` characters, not a well-known password, not the person's name, not one character
 * repeated. Returns what is wrong and how to fix it, or null.
 */
export function passwordProblem(password: string, name: string): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `the password is ${length} characters: use at least ${PASSWORD_MIN_LENGTH} (a short sentence is easy to remember)`;
  if (length > PASSWORD_MAX_LENGTH) return `the password is ${length} characters: use at most ${PASSWORD_MAX_LENGTH}`;
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'that password is among the first ones attackers try: choose another';
  if (new Set(password).size === 1) return 'the password repeats one character: choose another';
  if (name.length >= 3 && lower.includes(name.toLowerCase())) return 'the password contains the person\'s name: choose another';
  return null;
}
