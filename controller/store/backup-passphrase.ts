import { randomBytes, scryptSync } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { z } from 'zod';

// An encrypted backup's key comes from a passphrase kept in a file (so it never appears in `ps` or the shell's
// history): scrypt stretches it, AES-256-GCM uses the result. The parameters travel in the backup's header.

/** scrypt's cost: 32 MiB and ~0.1 s per derivation, as OWASP suggests for interactive use. */
const COST = { N: 2 ** 15, r: 8, p: 1 } as const;
// Bounds for a header someone else wrote: a crafted N must not make the restore allocate gigabytes.
const MAX_MEMORY = 256 * 1024 * 1024;

export const MIN_PASSPHRASE_LENGTH = 12;

export const scryptSchema = z.object({
  kdf: z.literal('scrypt'),
  N: z.number().int().min(2 ** 14).max(2 ** 17).refine((n) => (n & (n - 1)) === 0, 'N is a power of two'),
  r: z.number().int().min(1).max(8),
  p: z.number().int().min(1).max(4),
  salt: z.string().regex(/^[A-Za-z0-9+/]{22}==$/, 'salt is 16 bytes of base64'),
}).strict();
export type ScryptParams = z.infer<typeof scryptSchema>;

export class PassphraseError extends Error {}

/** The passphrase in `file` (one trailing newline dropped), or a refusal saying what is wrong with it. */
export function readPassphrase(file: string): string {
  if (!existsSync(file) || !statSync(file).isFile()) throw new PassphraseError(`--passphrase-file ${file} does not exist: write the passphrase into a file of its own (mode 0600)`);
  const passphrase = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new PassphraseError(`the passphrase in ${file} is shorter than ${MIN_PASSPHRASE_LENGTH} characters: choose a longer one`);
  return passphrase;
}

/** Whether other users may read the passphrase file (worth a warning, not a refusal). */
export const passphraseFileIsOpen = (file: string): boolean => (statSync(file).mode & 0o077) !== 0;

export function newScryptParams(): ScryptParams {
  return { kdf: 'scrypt', ...COST, salt: randomBytes(16).toString('base64') };
}

/** The 32-byte AES key for `passphrase` under `params`. */
export function deriveKey(passphrase: string, params: ScryptParams): Buffer {
  return scryptSync(passphrase.normalize('NFC'), Buffer.from(params.salt, 'base64'), 32, { N: params.N, r: params.r, p: params.p, maxmem: MAX_MEMORY });
}
