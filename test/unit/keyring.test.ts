import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEY_FILE_NAME, Keyring } from '../../controller/secrets/keyring.ts';

describe('keyring', () => {
  it('makes its key file once, readable by the owner only, and reads the same keys back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'govlocker-keys-'));
    const a = Keyring.openOrCreate(dir);
    expect(statSync(join(dir, KEY_FILE_NAME)).mode & 0o777).toBe(0o600);
    const b = Keyring.openOrCreate(dir);
    expect(b.lookupHash('pickup-code', '12345678')).toBe(a.lookupHash('pickup-code', '12345678'));
    expect(b.decrypt(a.encrypt({ phone: '13800138000' }))).toEqual({ phone: '13800138000' });
  });

  it('separates hash domains and refuses a tampered ciphertext', () => {
    const k = Keyring.ephemeral();
    expect(k.lookupHash('pickup-code', '12345678')).not.toBe(k.lookupHash('id-suffix', '12345678'));
    const blob = k.encrypt({ idNumber: '440106199001011235' });
    blob[blob.length - 1]! ^= 1;
    expect(() => k.decrypt(blob)).toThrow();
    expect(blob.toString('latin1')).not.toContain('440106');
  });

  it('seals bytes (a camera still) bound to their id: another id, another key or a changed byte does not open them', () => {
    const k = Keyring.ephemeral();
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Buffer.from('a face at the cabinet'), 0xff, 0xd9]);
    const sealed = k.sealBytes(jpeg, '20261129-0123456789abcdef01234567');
    expect(sealed.includes(Buffer.from('a face'))).toBe(false);
    expect(k.openBytes(sealed, '20261129-0123456789abcdef01234567').equals(jpeg)).toBe(true);
    expect(() => k.openBytes(sealed, '20261129-ffffffffffffffffffffffff')).toThrow();
    expect(() => Keyring.ephemeral().openBytes(sealed, '20261129-0123456789abcdef01234567')).toThrow();
    const changed = Buffer.from(sealed);
    changed[changed.length - 1]! ^= 1;
    expect(() => k.openBytes(changed, '20261129-0123456789abcdef01234567')).toThrow();
    // Never mistaken for an encrypted JSON value, nor the other way round.
    expect(() => k.decrypt(sealed)).toThrow();
    expect(() => k.openBytes(k.encrypt({ a: 1 }), 'x')).toThrow();
  });
});
