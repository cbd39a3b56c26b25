import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { ensurePrivateDir } from '../store/private-files.ts';
import { join } from 'node:path';
import { z } from 'zod';

const keyFileSchema = z.object({
  version: z.literal(1),
  /** AES-256-GCM key for personal data at rest. */
  pii: z.string().regex(/^[A-Za-z0-9+/]{43}=$/),
  /** HMAC key for the keyed hashes of pickup credentials and ID suffixes. */
  lookup: z.string().regex(/^[A-Za-z0-9+/]{43}=$/),
});

export const KEY_FILE_NAME = 'govlocker.key';

/**
 * The cabinet's secrets, kept in a file beside (not inside) the database, mode 0600, made at first start.
 * Copying the database alone therefore reveals no phone, ID number or credential.
 */
export class Keyring {
  readonly #pii: Buffer;
  readonly #lookup: Buffer;

  private constructor(pii: Buffer, lookup: Buffer) {
    this.#pii = pii;
    this.#lookup = lookup;
  }

  static openOrCreate(dataDir: string): Keyring {
    ensurePrivateDir(dataDir);
    const file = join(dataDir, KEY_FILE_NAME);
    if (!existsSync(file)) {
      const fresh = { version: 1, pii: randomBytes(32).toString('base64'), lookup: randomBytes(32).toString('base64') };
      // 'wx' fails if another process created it meanwhile: never overwrite a key (it would orphan the data).
      writeFileSync(file, JSON.stringify(fresh) + '\n', { mode: 0o600, flag: 'wx' });
    }
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) chmodSync(file, 0o600);
    const parsed = keyFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new Error(`${file} is not a govlocker key file: restore it from the backup (the encrypted data cannot be read without it)`);
    return new Keyring(Buffer.from(parsed.data.pii, 'base64'), Buffer.from(parsed.data.lookup, 'base64'));
  }

  /** For tests: a keyring that lives in memory only. */
  static ephemeral(): Keyring {
    return new Keyring(randomBytes(32), randomBytes(32));
  }

  /** A keyed hash for look-ups; `domain` separates the uses so one hash never matches another kind. */
  lookupHash(domain: string, value: string): string {
    return createHmac('sha256', this.#lookup).update(domain).update('\0').update(value).digest('base64url');
  }

  static sameHash(a: string, b: string): boolean {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  }

  encrypt(value: unknown): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#pii, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([1]), iv, cipher.getAuthTag(), body]);
  }

  /**
   * Bytes (a camera still) sealed with the personal-data key, bound to `label` (the still's id): a file copied
   * under another id does not open. Version 2, so it is never mistaken for an encrypted JSON value.
   */
  sealBytes(bytes: Buffer, label: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#pii, iv);
    cipher.setAAD(Buffer.from(label, 'utf8'));
    const body = Buffer.concat([cipher.update(bytes), cipher.final()]);
    return Buffer.concat([Buffer.from([2]), iv, cipher.getAuthTag(), body]);
  }

  /** The bytes `sealBytes` sealed under `label`; throws when the key, the label or a byte differs. */
  openBytes(blob: Buffer, label: string): Buffer {
    if (blob[0] !== 2) throw new Error('not sealed bytes');
    const decipher = createDecipheriv('aes-256-gcm', this.#pii, blob.subarray(1, 13));
    decipher.setAAD(Buffer.from(label, 'utf8'));
    decipher.setAuthTag(blob.subarray(13, 29));
    return Buffer.concat([decipher.update(blob.subarray(29)), decipher.final()]);
  }

  decrypt<T = unknown>(blob: Buffer): T {
    if (blob[0] !== 1) throw new Error('unknown ciphertext version');
    const decipher = createDecipheriv('aes-256-gcm', this.#pii, blob.subarray(1, 13));
    decipher.setAuthTag(blob.subarray(13, 29));
    const text = Buffer.concat([decipher.update(blob.subarray(29)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as T;
  }
}
