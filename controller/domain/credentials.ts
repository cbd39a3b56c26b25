import { randomBytes, randomInt } from 'node:crypto';

/** The two forms of a pickup credential (CONTRACT §3). Only keyed hashes of them are ever stored. */
export interface PickupCredential {
  readonly code: string;
  readonly qr: string;
}

export const QR_PREFIX = 'GLQ1.';
/** 8-digit keypad code. */
export const codeSchemaPattern = /^\d{8}$/;
/** The QR text: a fixed prefix and 24 base64url characters (144 random bits). */
export const qrPattern = /^GLQ1\.[A-Za-z0-9_-]{24}$/;

export interface RandomSource {
  int(maxExclusive: number): number;
  bytes(n: number): Buffer;
}

export const cryptoRandom: RandomSource = { int: (max) => randomInt(max), bytes: (n) => randomBytes(n) };

export function newCredential(random: RandomSource = cryptoRandom): PickupCredential {
  const code = String(random.int(100_000_000)).padStart(8, '0');
  const qr = QR_PREFIX + random.bytes(18).toString('base64url');
  return { code, qr };
}

export const hashDomains = { code: 'pickup-code', qr: 'pickup-qr', idSuffix: 'id-suffix' } as const;
