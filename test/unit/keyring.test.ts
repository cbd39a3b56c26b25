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
});
