import Database from 'better-sqlite3';
import { accessSync, chmodSync, chownSync, constants, existsSync, linkSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DATABASE_FILE, VERSION } from '../controller/cabinet.ts';
import { loadConfig } from '../controller/config/load.ts';
import { KEY_FILE_NAME } from '../controller/secrets/keyring.ts';
import { ARCHIVED_FILES, writeArchive, type BackupFacts, type BackupHeader } from '../controller/store/backup-archive.ts';
import { PassphraseError, passphraseFileIsOpen, readPassphrase } from '../controller/store/backup-passphrase.ts';
import { BROKER_ACCOUNTS_FILE } from './broker-accounts.ts';
import { CABINET_ACCOUNT, SERVICE_ACCOUNTS } from './broker-acl.ts';
import { CommandRefusal, formatBytes, formatCount, refuse, removeOnSignal, syncDir } from './backup-common.ts';

export interface BackupOptions {
  readonly dataDir: string;
  readonly to: string;
  /** Replace `to` if it exists. */
  readonly force?: boolean;
  /** From the cabinet's config or GOVLOCKER_CABINET_ID; otherwise read from the broker logins, when there are any. */
  readonly cabinetId?: string;
  /** Encrypts the backup (scrypt + AES-256-GCM). */
  readonly passphrase?: string;
  readonly now?: () => number;
}

export interface BackupReport {
  readonly file: string;
  readonly bytes: number;
  readonly header: BackupHeader;
  readonly ms: number;
}

/**
 * `govlocker backup`: a consistent copy of a data dir while its cabinet runs — the database through SQLite's
 * online backup, plus the keys — in one file (controller/store/backup-archive.ts), 0600, written under a
 * temporary name and then linked into place, so `to` is either absent or complete.
 */
export async function backupDataDir(o: BackupOptions): Promise<BackupReport> {
  const t0 = performance.now();
  const database = join(o.dataDir, DATABASE_FILE);
  if (existsSync(o.dataDir) && !readable(o.dataDir)) throw new CommandRefusal(`${o.dataDir} may not be read by this user: run the backup as the cabinet's user (its data dir is 0700)`);
  if (!existsSync(database)) throw new CommandRefusal(`no database at ${database}: pass the cabinet's data directory with --data (or its config with --config)`);
  if (!existsSync(join(o.dataDir, KEY_FILE_NAME))) throw new CommandRefusal(`no ${KEY_FILE_NAME} in ${o.dataDir}: a backup without it could never be read; find the key file first`);
  const to = resolve(o.to);
  if (existsSync(to) && statSync(to).isDirectory()) throw new CommandRefusal(`${to} is a directory: --to names the backup file, e.g. ${join(to, 'govlocker-2026-11-30.glbak')}`);
  if (existsSync(to) && !o.force) throw new CommandRefusal(`${to} exists: choose another name, or pass --force to replace it`);
  if (!existsSync(dirname(to))) throw new CommandRefusal(`the directory ${dirname(to)} does not exist: create it first (mode 0700: a backup holds the keys)`);

  // Beside the target (0700), so the finished file is renamed on one filesystem; removed whatever happens.
  const work = mkdtempSync(join(dirname(to), `.${basename(to)}.`));
  const keepSignals = removeOnSignal('backup', work);
  try {
    const copy = join(work, DATABASE_FILE);
    await snapshot(database, copy);
    const facts: BackupFacts = {
      ...describeCopy(copy),
      cabinetId: o.cabinetId ?? cabinetFromBrokerLogins(o.dataDir),
      createdAt: new Date((o.now ?? Date.now)()).toISOString(),
      govlocker: VERSION,
    };
    const sources = ARCHIVED_FILES.map((name) => ({ name, path: name === DATABASE_FILE ? copy : join(o.dataDir, name) })).filter((s) => existsSync(s.path));
    const temp = join(work, 'backup');
    const { header, bytes } = writeArchive(temp, facts, sources, o.passphrase);
    if (o.force) renameSync(temp, to);
    else {
      try {
        linkSync(temp, to); // unlike rename, never replaces a file that appeared meanwhile
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new CommandRefusal(`${to} appeared while the backup ran: choose another name, or pass --force to replace it`);
        throw error;
      }
    }
    chmodSync(to, 0o600);
    syncDir(dirname(to));
    return { file: to, bytes, header, ms: performance.now() - t0 };
  } finally {
    rmSync(work, { recursive: true, force: true });
    keepSignals();
  }
}

/**
 * The database as one read transaction sees it. Every page is copied in one step: a step-by-step copy starts
 * over whenever the cabinet commits meanwhile (and may never finish under load), while one step is one
 * snapshot, which a writer in WAL mode neither waits for nor disturbs.
 */
async function snapshot(database: string, copy: string): Promise<void> {
  const sideFiles = ['-wal', '-shm'].map((s) => database + s);
  const existed = sideFiles.map((f) => existsSync(f));
  try {
    const db = new Database(database, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      await db.backup(copy, { progress: () => 0x7fffffff });
    } finally {
      db.close();
    }
  } catch (error) {
    // Most often a backup run as another user than the cabinet's: SQLite must write its -shm even to read.
    if (error instanceof Database.SqliteError) throw new CommandRefusal(`the database at ${database} could not be read (${error.message}): run the backup as the cabinet's user`);
    throw error;
  }
  // Opening a stopped cabinet's database leaves -wal and -shm behind: they must stay the cabinet's own (0600,
  // its owner), or a backup run as root would keep the cabinet from opening its database.
  const owner = statSync(database);
  sideFiles.forEach((file, i) => {
    if (existed[i] || !existsSync(file)) return;
    chmodSync(file, 0o600);
    if (process.getuid?.() === 0 && owner.uid !== 0) chownSync(file, owner.uid, owner.gid);
  });
}

/** Checks the copy and reads what the header tells about it; the copy becomes one self-contained file. */
function describeCopy(copy: string): Pick<BackupFacts, 'schemaVersion' | 'cases' | 'auditEntries'> {
  const db = new Database(copy, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    const problems = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).filter((m) => m !== 'ok');
    if (problems.length > 0) throw new CommandRefusal(`the database fails SQLite's integrity check (${problems.slice(0, 3).join('; ')}): its disk may be failing; no backup was written`);
    const tables = new Set((db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name));
    const count = (table: string) => (tables.has(table) ? (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n : 0);
    return { schemaVersion: db.pragma('user_version', { simple: true }) as number, cases: count('cases'), auditEntries: count('audit') };
  } finally {
    db.close();
  }
}

function readable(dir: string): boolean {
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `npm start`'s broker logins name one cabinet account besides the services': that is the cabinet's id. */
function cabinetFromBrokerLogins(dataDir: string): string | null {
  try {
    const { accounts } = JSON.parse(readFileSync(join(dataDir, BROKER_ACCOUNTS_FILE), 'utf8')) as { accounts: Record<string, unknown> };
    const cabinets = Object.keys(accounts).filter((name) => CABINET_ACCOUNT.test(name) && !(SERVICE_ACCOUNTS as readonly string[]).includes(name));
    return cabinets.length === 1 ? cabinets[0]! : null;
  } catch {
    return null;
  }
}

const CABINET_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

export const BACKUP_USAGE = 'usage: govlocker backup (--data DIR | --config FILE) --to FILE [--force] [--passphrase-file FILE]';

/** The command line: parses, runs, prints what was written (never a key or anything personal). */
export async function backupCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args, strict: true,
    options: { data: { type: 'string' }, config: { type: 'string' }, to: { type: 'string' }, force: { type: 'boolean' }, 'passphrase-file': { type: 'string' } },
  });
  if (!values.to) refuse('backup', `--to FILE names the backup file to write\n${BACKUP_USAGE}`);
  const config = values.config ? loadConfig(values.config) : null;
  const dataDir = resolve(values.data ?? config?.dataDir ?? process.env.GOVLOCKER_DATA_DIR ?? './data');
  const cabinetId = config?.cabinetId ?? process.env.GOVLOCKER_CABINET_ID;
  if (cabinetId !== undefined && !CABINET_ID.test(cabinetId)) refuse('backup', `GOVLOCKER_CABINET_ID is not a cabinet id (1–32 letters, digits, "-" or "_")`);
  let passphrase: string | undefined;
  const passphraseFile = values['passphrase-file'];
  try {
    if (passphraseFile !== undefined) passphrase = readPassphrase(passphraseFile);
    const report = await backupDataDir({ dataDir, to: values.to, force: values.force, cabinetId, passphrase });
    if (passphraseFile !== undefined && passphraseFileIsOpen(passphraseFile)) process.stderr.write(`govlocker backup: ${passphraseFile} may be read by other users: chmod 600 it\n`);
    process.stdout.write(backupSummary(report));
  } catch (error) {
    if (error instanceof CommandRefusal || error instanceof PassphraseError) refuse('backup', error.message);
    throw error;
  }
}

function backupSummary(r: BackupReport): string {
  const h = r.header;
  const lines = [
    `govlocker backup: wrote ${r.file} (mode 0600)`,
    `  cabinet         ${h.cabinetId ?? '(not known: pass --config or set GOVLOCKER_CABINET_ID)'}`,
    `  size            ${formatBytes(r.bytes)}`,
    `  cases           ${formatCount(h.cases)}`,
    `  audit entries   ${formatCount(h.auditEntries)}`,
    `  schema version  ${h.schemaVersion}`,
    `  files           ${h.files.map((f) => f.name).join(', ')}`,
    `  encryption      ${h.encryption ? 'AES-256-GCM, key from the passphrase (scrypt)' : 'none: the file holds the keys in clear; keep it as private as the data dir'}`,
    `  took            ${(r.ms / 1000).toFixed(2)} s`,
  ];
  return lines.join('\n') + '\n';
}
