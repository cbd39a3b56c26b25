import Database from 'better-sqlite3';
import { dirname } from 'node:path';
import { migrations } from './migrations.ts';
import { ensurePrivateDir, ensurePrivateFile, tightenIfPresent } from './private-files.ts';

export type Db = Database.Database;

/**
 * Opens (creating if needed, mode 0600 in a 0700 directory) the cabinet's database: WAL journal, synchronous=FULL so a committed change
 * survives power loss, foreign keys on, freed space zeroed (secure_delete), and every pending migration
 * applied in its own transaction.
 */
export function openDatabase(file: string): Db {
  if (file !== ':memory:') {
    ensurePrivateDir(dirname(file));
    ensurePrivateFile(file);
    // Files left by an older version (or copied in) may be 0644.
    for (const suffix of ['-wal', '-shm', '-journal']) tightenIfPresent(file + suffix);
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Deleted or overwritten content is zeroed where that costs no extra I/O, so purged personal data (even
  // encrypted) does not linger in the file's free space.
  db.pragma('secure_delete = FAST');
  try {
    migrate(db);
  } catch (error) {
    db.close(); // a database this version refuses (newer than the code) is left as it was, and not held open
    throw error;
  }
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Db): void {
  const from = schemaVersion(db);
  if (from > migrations.length) {
    throw new Error(`the database is schema version ${from}, newer than this govlocker (${migrations.length}): upgrade govlocker or restore a matching backup`);
  }
  if (from === migrations.length) return;
  // SQLite's way to change a table's constraints (lang_altertable.html, "other kinds of table schema
  // changes"): foreign keys off outside the transaction, the table rebuilt inside it, then every reference
  // checked before the commit. A migration that leaves a dangling reference is rolled back whole.
  db.pragma('foreign_keys = OFF');
  try {
    for (let version = from; version < migrations.length; version++) {
      db.transaction(() => {
        db.exec(migrations[version]!);
        const dangling = db.pragma('foreign_key_check') as { table: string; parent: string }[];
        if (dangling.length > 0) {
          throw new Error(`schema upgrade to version ${version + 1} would leave ${dangling.length} reference(s) dangling (first: ${dangling[0]!.table} → ${dangling[0]!.parent}): nothing was changed; restore from a backup and report this`);
        }
        db.pragma(`user_version = ${version + 1}`);
      }).immediate();
    }
  } finally {
    db.pragma('foreign_keys = ON');
  }
}
