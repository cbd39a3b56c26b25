import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';

// The data dir holds the database (keyed hashes of tokens and credentials, ciphertext of personal data) and
// the keys. Nobody but the cabinet's own user may read any of it: the dir is 0700, its files 0600.

const ownedByUs = (uid: number): boolean => typeof process.getuid !== 'function' || process.getuid() === uid;

/** Creates `dir` (0700) or tightens it to 0700 when it is ours; refuses a shared sticky directory such as /tmp. */
export function ensurePrivateDir(dir: string): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new Error(`dataDir ${dir} is not a directory: give the cabinet a directory of its own`);
  if (st.mode & 0o1000) throw new Error(`dataDir ${dir} is a shared directory (sticky bit, like /tmp): give the cabinet a directory of its own, e.g. /var/lib/govlocker`);
  if (ownedByUs(st.uid) && st.mode & 0o077) chmodSync(dir, 0o700);
}

/** Makes sure `file` exists with mode 0600 (SQLite then creates its -wal and -shm files with the same mode). */
export function ensurePrivateFile(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  tightenIfPresent(file);
}

/** 0600 for a file that exists and is ours; nothing for one that does not exist. */
export function tightenIfPresent(file: string): void {
  if (!existsSync(file)) return;
  const st = statSync(file);
  if (ownedByUs(st.uid) && st.mode & 0o077) chmodSync(file, 0o600);
}
