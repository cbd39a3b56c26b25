import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArchiveRefusal, BACKUP_MAGIC, extractArchive, openArchive, writeArchive, type BackupFacts } from '../../controller/store/backup-archive.ts';

// The backup file's format on its own: what goes in comes out byte for byte (plain and encrypted), and a file
// whose header lies is refused before anything is written.

const root = mkdtempSync(join(tmpdir(), 'govlocker-archive-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (what: string) => join(root, `${what}-${++n}`);

const facts: BackupFacts = { cabinetId: 'BY-HALL-03', schemaVersion: 5, createdAt: '2026-11-30T02:30:00.000Z', govlocker: '0.1.0', cases: 2, auditEntries: 9 };

function sources(): { name: 'govlocker.db' | 'govlocker.key' | 'mqtt-accounts.json'; path: string }[] {
  const dir = fresh('src');
  mkdirSync(dir);
  const db = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < db.length; i++) db[i] = (i * 31) & 0xff;
  writeFileSync(join(dir, 'govlocker.db'), db);
  writeFileSync(join(dir, 'govlocker.key'), '{"version":1}\n');
  writeFileSync(join(dir, 'mqtt-accounts.json'), '');
  return (['govlocker.db', 'govlocker.key', 'mqtt-accounts.json'] as const).map((name) => ({ name, path: join(dir, name) }));
}

/** The file with its header replaced by `header` and the trailer made to match, as a careful forger would. */
function withHeader(file: string, header: unknown): string {
  const bytes = readFileSync(file);
  const end = bytes.indexOf(0x0a, BACKUP_MAGIC.length) + 1;
  const body = Buffer.concat([BACKUP_MAGIC, Buffer.from(JSON.stringify(header) + '\n'), bytes.subarray(end, bytes.length - 32)]);
  const out = fresh('forged');
  writeFileSync(out, Buffer.concat([body, createHash('sha256').update(body).digest()]));
  return out;
}

describe('the backup file', () => {
  it.each([['plain', undefined], ['encrypted', 'a passphrase of some length']])('gives back every file byte for byte (%s), an empty one included', (_, passphrase) => {
    const src = sources();
    const file = fresh('backup');
    const { header, bytes } = writeArchive(file, facts, src, passphrase);
    expect(bytes).toBe(readFileSync(file).length);
    expect(header.encryption === null).toBe(passphrase === undefined);
    const opened = openArchive(file);
    expect(opened.header).toEqual(header);
    const out = fresh('out');
    mkdirSync(out);
    extractArchive(opened, out, passphrase);
    for (const s of src) expect(readFileSync(join(out, s.name)).equals(readFileSync(s.path)), s.name).toBe(true);
  });

  it('is refused with bytes after its end, with a forged header, or with a name outside the list', () => {
    const file = fresh('backup');
    writeArchive(file, facts, sources());
    const longer = fresh('longer');
    writeFileSync(longer, Buffer.concat([readFileSync(file), Buffer.from('x')]));
    expect(() => openArchive(longer)).toThrow(/is damaged: it is 1 bytes longer than its header announces/);

    const header = openArchive(file).header;
    expect(() => openArchive(withHeader(file, { ...header, files: [header.files[0], header.files[0], ...header.files.slice(1)] }))).toThrow(/a file is listed twice/);
    expect(() => openArchive(withHeader(file, { ...header, files: [{ ...header.files[0], name: '../../etc/cron.d/x' }, ...header.files.slice(1)] }))).toThrow(ArchiveRefusal);
    expect(() => openArchive(withHeader(file, { ...header, files: header.files.filter((f) => f.name !== 'govlocker.key') }))).toThrow(/govlocker\.key is missing/);
    expect(() => openArchive(withHeader(file, { ...header, encryption: { cipher: 'aes-256-gcm', iv: 'AAAAAAAAAAAAAAAA', key: { kdf: 'scrypt', N: 2 ** 24, r: 8, p: 1, salt: 'AAAAAAAAAAAAAAAAAAAAAA==' } } }))).toThrow(/header does not hold/);
  });

  it('writes nothing but its own names, and an encrypted one only with the right passphrase', () => {
    const file = fresh('sealed');
    writeArchive(file, facts, sources(), 'the right passphrase');
    const out = fresh('out');
    mkdirSync(out);
    expect(() => extractArchive(openArchive(file), out)).toThrow(/is encrypted: pass --passphrase-file/);
    expect(readdirSync(out)).toEqual([]);
    expect(() => extractArchive(openArchive(file), out, 'the wrong passphrase')).toThrow(/the passphrase does not open/);
    expect(readdirSync(out).sort()).toEqual(['govlocker.db', 'govlocker.key', 'mqtt-accounts.json']);
  });
});
