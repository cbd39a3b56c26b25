import { createCipheriv, createDecipheriv, createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { deriveKey, newScryptParams, scryptSchema } from './backup-passphrase.ts';

// The backup file (`govlocker backup`, read by `govlocker restore`), format version 1:
//
//   magic    "GOVLOCKER-BACKUP\n"
//   header   one line of JSON (BackupHeader below) and "\n", at most 64 KiB
//   body     the files in the header's order, back to back (their sizes are in the header); when encrypted,
//            their AES-256-GCM ciphertext (key: scrypt of the passphrase; the magic and header as additional
//            authenticated data) followed by the 16-byte tag
//   trailer  SHA-256 of every byte before it (32 bytes)
//
// `head -2 FILE` shows what a backup is (cabinet, schema version, files) without reading the rest.

export const BACKUP_MAGIC = Buffer.from('GOVLOCKER-BACKUP\n', 'ascii');
export const BACKUP_FORMAT = 'govlocker-backup';
export const BACKUP_FORMAT_VERSION = 1;
const MAX_HEADER = 64 * 1024;
const TRAILER = 32;
const TAG = 16;
const CHUNK = 1 << 20;

/** What a backup may hold, and nothing else: a restore never writes a name it did not choose itself. */
export const ARCHIVED_FILES = ['govlocker.db', 'govlocker.key', 'command.key', 'mqtt-accounts.json', 'provisioned.json', 'tls/cert.pem', 'tls/key.pem'] as const;
export type ArchivedFile = (typeof ARCHIVED_FILES)[number];
const REQUIRED: readonly ArchivedFile[] = ['govlocker.db', 'govlocker.key'];

const fileSchema = z.object({
  name: z.enum(ARCHIVED_FILES),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
}).strict();

export const backupHeaderSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(BACKUP_FORMAT_VERSION),
  /** The cabinet whose data this is; null when the backup could not tell (no config, no broker logins). */
  cabinetId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/).nullable(),
  /** The database's PRAGMA user_version. */
  schemaVersion: z.number().int().min(0),
  createdAt: z.iso.datetime(),
  /** The govlocker version that wrote it. */
  govlocker: z.string().min(1).max(40),
  cases: z.number().int().min(0),
  auditEntries: z.number().int().min(0),
  files: z.array(fileSchema).superRefine((files, ctx) => {
    const names = files.map((f) => f.name);
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', message: 'a file is listed twice' });
    for (const name of REQUIRED) if (!names.includes(name)) ctx.addIssue({ code: 'custom', message: `${name} is missing` });
  }),
  encryption: z.object({
    cipher: z.literal('aes-256-gcm'),
    iv: z.string().regex(/^[A-Za-z0-9+/]{16}$/, 'iv is 12 bytes of base64'),
    key: scryptSchema,
  }).strict().nullable(),
}).strict();
export type BackupHeader = z.infer<typeof backupHeaderSchema>;

/** What the backup says about itself besides its files. */
export type BackupFacts = Pick<BackupHeader, 'cabinetId' | 'schemaVersion' | 'createdAt' | 'govlocker' | 'cases' | 'auditEntries'>;

export interface ArchiveSource {
  readonly name: ArchivedFile;
  readonly path: string;
}

/** A backup file that cannot be restored, and why, in words for the person restoring it. */
export class ArchiveRefusal extends Error {}

// ---- writing ----

/**
 * Writes the backup of `sources` to `file` (created 0600; it must not exist), encrypted when a passphrase is
 * given. Returns the header written and the file's size.
 */
export function writeArchive(file: string, facts: BackupFacts, sources: readonly ArchiveSource[], passphrase?: string): { header: BackupHeader; bytes: number } {
  const files = sources.map((s) => ({ name: s.name, ...digestOf(s.path) }));
  const encryption = passphrase === undefined ? null : { cipher: 'aes-256-gcm' as const, iv: randomBytes(12).toString('base64'), key: newScryptParams() };
  // Parsed before it is written: never a backup this govlocker could not read back.
  const header = backupHeaderSchema.parse({ format: BACKUP_FORMAT, version: BACKUP_FORMAT_VERSION, ...facts, files, encryption });
  const head = Buffer.concat([BACKUP_MAGIC, Buffer.from(JSON.stringify(header) + '\n', 'utf8')]);
  const cipher = encryption && createCipheriv('aes-256-gcm', deriveKey(passphrase!, encryption.key), Buffer.from(encryption.iv, 'base64'));
  cipher?.setAAD(head);
  const fd = openSync(file, 'wx', 0o600);
  let bytes = 0;
  try {
    const sum = createHash('sha256');
    const put = (buf: Buffer) => {
      sum.update(buf);
      writeAll(fd, buf);
      bytes += buf.length;
    };
    put(head);
    sources.forEach((s, i) => {
      const expected = files[i]!;
      const seen = createHash('sha256');
      readRange(s.path, 0, expected.size, (chunk) => {
        seen.update(chunk);
        put(cipher ? cipher.update(chunk) : chunk);
      });
      if (seen.digest('hex') !== expected.sha256) throw new Error(`${s.path} changed while it was being backed up: run the backup again`);
    });
    if (cipher) {
      put(cipher.final());
      put(cipher.getAuthTag());
    }
    writeAll(fd, sum.digest());
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { header, bytes: bytes + TRAILER };
}

function digestOf(path: string): { size: number; sha256: string } {
  const size = statSync(path).size;
  const hash = createHash('sha256');
  readRange(path, 0, size, (chunk) => hash.update(chunk));
  return { size, sha256: hash.digest('hex') };
}

// ---- reading ----

export interface OpenedArchive {
  readonly file: string;
  readonly header: BackupHeader;
  /** The file's size in bytes. */
  readonly bytes: number;
  /** Where the body begins (after the magic and the header line). */
  readonly bodyStart: number;
}

/**
 * Reads and checks a backup file without writing anything: its magic, header, length and checksum. Throws an
 * ArchiveRefusal naming what is wrong (not a backup, another format version, truncated, damaged).
 */
export function openArchive(file: string): OpenedArchive {
  if (!existsSync(file) || !statSync(file).isFile()) throw new ArchiveRefusal(`${file} does not exist (or is not a file)`);
  const fd = openSync(file, 'r');
  try {
    const bytes = fstatSync(fd).size;
    if (bytes === 0) throw new ArchiveRefusal(`${file} is empty: not a govlocker backup`);
    const start = readAt(fd, 0, Math.min(bytes, BACKUP_MAGIC.length + MAX_HEADER + 1));
    if (bytes < BACKUP_MAGIC.length && BACKUP_MAGIC.subarray(0, bytes).equals(start)) throw truncated(file, 'inside its first line');
    if (!start.subarray(0, BACKUP_MAGIC.length).equals(BACKUP_MAGIC)) throw new ArchiveRefusal(`${file} is not a govlocker backup (it does not begin with "GOVLOCKER-BACKUP")`);
    const newline = start.indexOf(0x0a, BACKUP_MAGIC.length);
    if (newline < 0) {
      if (start.length < BACKUP_MAGIC.length + MAX_HEADER) throw truncated(file, 'inside its header');
      throw new ArchiveRefusal(`${file} has a header longer than 64 KiB: not a govlocker backup`);
    }
    const header = parseHeader(file, start.subarray(BACKUP_MAGIC.length, newline));
    const bodyStart = newline + 1;
    const expected = bodyStart + bodyLength(header) + TRAILER;
    if (bytes < expected) throw truncated(file, `after ${bytes} of the ${expected} bytes its header announces`);
    if (bytes > expected) throw new ArchiveRefusal(`${file} is damaged: it is ${bytes - expected} bytes longer than its header announces`);
    const sum = createHash('sha256');
    forEachChunk(fd, 0, bytes - TRAILER, (chunk) => sum.update(chunk));
    if (!sum.digest().equals(readAt(fd, bytes - TRAILER, TRAILER))) {
      throw new ArchiveRefusal(`${file} is damaged: its SHA-256 checksum does not match its content (a changed byte or a bad copy); use another backup`);
    }
    return { file, header, bytes, bodyStart };
  } finally {
    closeSync(fd);
  }
}

const truncated = (file: string, where: string) => new ArchiveRefusal(`${file} is truncated: it ends ${where} (an interrupted copy or a full disk?); use a complete backup`);

function parseHeader(file: string, line: Buffer): BackupHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(line.toString('utf8'));
  } catch {
    throw new ArchiveRefusal(`${file} is damaged: its header is not JSON`);
  }
  const kind = z.object({ format: z.unknown(), version: z.unknown() }).safeParse(raw);
  if (!kind.success || kind.data.format !== BACKUP_FORMAT) {
    throw new ArchiveRefusal(`${file} is not a govlocker backup: its header's format is ${JSON.stringify(kind.success ? kind.data.format : undefined)}, not "${BACKUP_FORMAT}"`);
  }
  if (kind.data.version !== BACKUP_FORMAT_VERSION) {
    throw new ArchiveRefusal(`${file} is backup format version ${JSON.stringify(kind.data.version)}; this govlocker reads version ${BACKUP_FORMAT_VERSION}: restore it with the govlocker that wrote it (${JSON.stringify((raw as { govlocker?: unknown }).govlocker ?? 'unknown')}) or a newer one`);
  }
  const parsed = backupHeaderSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(header)'}: ${i.message}`).join('; ');
    throw new ArchiveRefusal(`${file} is damaged: its header does not hold (${issues})`);
  }
  return parsed.data;
}

const plainLength = (header: BackupHeader) => header.files.reduce((n, f) => n + f.size, 0);
const bodyLength = (header: BackupHeader) => plainLength(header) + (header.encryption ? TAG : 0);

/**
 * Writes the files of a checked backup into `dir` (which exists), each 0600, and checks each against its
 * SHA-256; an encrypted backup needs its passphrase. Throws an ArchiveRefusal on a wrong passphrase or a file
 * that does not match; what was written is then the caller's to remove.
 */
export function extractArchive(archive: OpenedArchive, dir: string, passphrase?: string): void {
  const { header } = archive;
  const enc = header.encryption;
  if (enc && passphrase === undefined) throw new ArchiveRefusal(`${archive.file} is encrypted: pass --passphrase-file FILE with the passphrase it was written with`);
  const fd = openSync(archive.file, 'r');
  try {
    let decipher = null;
    if (enc) {
      decipher = createDecipheriv('aes-256-gcm', deriveKey(passphrase!, enc.key), Buffer.from(enc.iv, 'base64'));
      decipher.setAAD(readAt(fd, 0, archive.bodyStart));
      decipher.setAuthTag(readAt(fd, archive.bytes - TRAILER - TAG, TAG));
    }
    // GCM is a stream mode: plaintext byte i is ciphertext byte i, so each file is its own range of the body.
    let offset = archive.bodyStart;
    const hashes: Hash[] = [];
    for (const entry of header.files) {
      // tls/… (what `govlocker tls self-signed` wrote into the data dir): its folder, private like the rest.
      if (entry.name.includes('/')) mkdirSync(dirname(join(dir, entry.name)), { recursive: true, mode: 0o700 });
      const out = openSync(join(dir, entry.name), 'wx', 0o600);
      const hash = createHash('sha256');
      try {
        forEachChunk(fd, offset, entry.size, (chunk) => {
          const plain = decipher ? decipher.update(chunk) : chunk;
          hash.update(plain);
          writeAll(out, plain);
        });
        fsyncSync(out);
      } finally {
        closeSync(out);
      }
      hashes.push(hash);
      offset += entry.size;
    }
    if (decipher) {
      try {
        decipher.final();
      } catch {
        throw new ArchiveRefusal(`the passphrase does not open ${archive.file}: check --passphrase-file (the backup itself passed its checksum)`);
      }
    }
    header.files.forEach((entry, i) => {
      if (hashes[i]!.digest('hex') !== entry.sha256) throw new ArchiveRefusal(`${archive.file} is damaged: ${entry.name} does not match its SHA-256 in the header`);
    });
  } finally {
    closeSync(fd);
  }
}

// ---- bytes ----

function writeAll(fd: number, buf: Buffer): void {
  for (let done = 0; done < buf.length;) done += writeSync(fd, buf, done, buf.length - done);
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

/** Calls `fn` with the bytes [position, position + length) of `fd`, a chunk at a time (valid only during the call). */
function forEachChunk(fd: number, position: number, length: number, fn: (chunk: Buffer) => void): void {
  const buf = Buffer.alloc(Math.min(CHUNK, Math.max(length, 1)));
  for (let done = 0; done < length;) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), position + done);
    if (n === 0) throw new ArchiveRefusal('the file ended early');
    fn(buf.subarray(0, n));
    done += n;
  }
}

function readRange(path: string, position: number, length: number, fn: (chunk: Buffer) => void): void {
  const fd = openSync(path, 'r');
  try {
    forEachChunk(fd, position, length, fn);
  } catch (error) {
    if (error instanceof ArchiveRefusal) throw new Error(`${path} changed while it was being backed up: run the backup again`);
    throw error;
  } finally {
    closeSync(fd);
  }
}
