import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isDayName, snapshotDay } from '../domain/snapshot-id.ts';

// The cabinet's stills on disk: `<dataDir>/snapshots/<YYYY-MM-DD>/<id>.jpg.sealed` (the JPEG encrypted with the
// personal-data key and bound to its id: a still shows people, and a copy of the data dir without the key file
// shows nobody), or `<id>.failed` (a line of JSON: why the capture failed). Directories 0700, files 0600 like
// the rest of the data dir; each file is written under a temporary name, synced and renamed, so a reader never
// sees half a still. Not in backups.

export const SNAPSHOT_DIR = 'snapshots';

/** Why there is no still, as the failed capture's note keeps it. */
export interface CaptureFailureNote {
  readonly reason: string;
  readonly message: string;
  /** When the capture was given up (ISO 8601). */
  readonly at: string;
}

export type SnapshotLookup =
  | { readonly kind: 'still'; readonly jpeg: Buffer }
  /** A file there that does not open under this id with this cabinet's key (damaged, or put there by hand). */
  | { readonly kind: 'unreadable' }
  | ({ readonly kind: 'failed' } & CaptureFailureNote)
  | { readonly kind: 'missing' };

const missing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

/** Seals and opens a still's bytes under its id (the cabinet's keyring). */
export interface StillSeal {
  sealBytes(bytes: Buffer, label: string): Buffer;
  openBytes(blob: Buffer, label: string): Buffer;
}

const STILL = '.jpg.sealed';

export class SnapshotFiles {
  readonly root: string;

  constructor(dataDir: string, private readonly seal: StillSeal) {
    this.root = join(dataDir, SNAPSHOT_DIR);
  }

  writeStill(id: string, jpeg: Buffer): Promise<void> {
    return this.#write(id, STILL, this.seal.sealBytes(jpeg, id));
  }

  writeFailure(id: string, note: CaptureFailureNote): Promise<void> {
    return this.#write(id, '.failed', Buffer.from(`${JSON.stringify(note)}\n`, 'utf8'));
  }

  async read(id: string): Promise<SnapshotLookup> {
    const dir = this.#dayDir(id);
    try {
      const sealed = await readFile(join(dir, `${id}${STILL}`));
      try {
        return { kind: 'still', jpeg: this.seal.openBytes(sealed, id) };
      } catch {
        return { kind: 'unreadable' };
      }
    } catch (error) {
      if (!missing(error)) throw error;
    }
    try {
      const note = JSON.parse(await readFile(join(dir, `${id}.failed`), 'utf8')) as CaptureFailureNote;
      return { kind: 'failed', reason: String(note.reason), message: String(note.message), at: String(note.at) };
    } catch (error) {
      if (missing(error)) return { kind: 'missing' };
      throw error;
    }
  }

  /** Deletes every day directory named before `firstKeptDay` (YYYY-MM-DD); answers the days deleted. */
  async deleteDaysBefore(firstKeptDay: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (error) {
      if (missing(error)) return [];
      throw error;
    }
    const old = names.filter((name) => isDayName(name) && name < firstKeptDay).sort();
    for (const day of old) await rm(join(this.root, day), { recursive: true, force: true });
    return old;
  }

  #dayDir(id: string): string {
    const day = snapshotDay(id);
    // Ids are checked at the edge; one that is not an id here is a bug, never a path.
    if (day === null) throw new Error(`not a snapshot id: ${JSON.stringify(id.slice(0, 40))}`);
    return join(this.root, day);
  }

  async #write(id: string, suffix: string, bytes: Buffer): Promise<void> {
    const dir = this.#dayDir(id);
    await this.#privateDir(this.root);
    await this.#privateDir(dir);
    const temp = join(dir, `.${id}.${randomBytes(4).toString('hex')}.tmp`);
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } catch (error) {
      await file.close();
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await file.close();
    await rename(temp, join(dir, `${id}${suffix}`));
  }

  async #privateDir(dir: string): Promise<void> {
    // mkdir's mode is filtered by the umask; 0700 is narrower than any umask leaves, chmod makes it so anyway.
    const made = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (made !== undefined) await chmod(dir, 0o700);
  }
}
