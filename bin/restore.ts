import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DATABASE_FILE } from '../controller/cabinet.ts';
import { readCommandKey } from '../controller/mqtt/command-auth.ts';
import { COMMAND_KEY_FILE } from '../controller/mqtt/central-ops.ts';
import { KEY_FILE_NAME, Keyring } from '../controller/secrets/keyring.ts';
import { AuditChain } from '../controller/store/audit-chain.ts';
import { ArchiveRefusal, extractArchive, openArchive, type BackupHeader } from '../controller/store/backup-archive.ts';
import { PassphraseError, readPassphrase } from '../controller/store/backup-passphrase.ts';
import { migrations } from '../controller/store/migrations.ts';
import { CommandRefusal, formatBytes, formatCount, refuse, removeOnSignal, syncDir } from './backup-common.ts';

export interface RestoreOptions {
  readonly from: string;
  readonly dataDir: string;
  readonly passphrase?: string;
  /** Refuse a backup of any other cabinet. */
  readonly expectCabinet?: string;
}

export interface RestoreReport {
  readonly dataDir: string;
  readonly header: BackupHeader;
  readonly bytes: number;
  readonly auditEntries: number;
  readonly auditHead: string;
  readonly ms: number;
}

/**
 * `govlocker restore`: checks the backup file whole (format, length, checksum) before anything is written,
 * unpacks it into a new directory beside DIR, checks what it unpacked as the cabinet would use it (SQLite's
 * integrity check, a schema this govlocker knows, the audit chain, keys that open the data), and only then
 * renames it to DIR. A refusal leaves DIR (and its parent) as they were.
 */
export function restoreDataDir(o: RestoreOptions): RestoreReport {
  const t0 = performance.now();
  const dir = resolve(o.dataDir);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new CommandRefusal(`${dir} is not a directory: restore into a new or empty directory`);
    const present = readdirSync(dir);
    if (present.length > 0) {
      const live = present.includes(DATABASE_FILE) ? ' (it holds a cabinet\'s database: stop that cabinet and move its data dir away first)' : '';
      throw new CommandRefusal(`${dir} is not empty${live}: ${present.length} entries, e.g. ${present.slice(0, 3).join(', ')}; restore into a new or empty directory`);
    }
  }
  if (!existsSync(dirname(dir))) throw new CommandRefusal(`the directory ${dirname(dir)} does not exist: create it first`);

  const archive = openArchive(resolve(o.from));
  const { header } = archive;
  if (o.expectCabinet !== undefined && header.cabinetId !== o.expectCabinet) {
    throw new CommandRefusal(`${archive.file} is a backup of cabinet ${header.cabinetId ?? '(not recorded in the backup)'}, not ${o.expectCabinet}: nothing was restored`);
  }
  if (header.schemaVersion > migrations.length) throw newerSchema(header.schemaVersion);

  const work = mkdtempSync(join(dirname(dir), `.${basename(dir)}.restore-`));
  const keepSignals = removeOnSignal('restore', work);
  let placed = false;
  try {
    extractArchive(archive, work, o.passphrase);
    const audit = checkRestored(work, archive.file);
    syncDir(work);
    try {
      // rename(2) replaces an empty directory and refuses one that is not (ENOTEMPTY): DIR is whole or untouched.
      renameSync(work, dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new CommandRefusal(`${dir} was filled while the restore ran: nothing was restored`);
      throw error;
    }
    placed = true;
    syncDir(dirname(dir));
    return { dataDir: dir, header, bytes: archive.bytes, auditEntries: audit.entries, auditHead: audit.head, ms: performance.now() - t0 };
  } finally {
    if (!placed) rmSync(work, { recursive: true, force: true });
    keepSignals();
  }
}

const newerSchema = (version: number) => new CommandRefusal(`the backup's database is schema version ${version}, newer than this govlocker (${migrations.length}): restore it with the govlocker that wrote it, or upgrade govlocker first`);

/** The unpacked data dir, checked as the cabinet would use it; the audit chain's length and head. */
function checkRestored(dir: string, file: string): { entries: number; head: string } {
  const db = new Database(join(dir, DATABASE_FILE), { fileMustExist: true });
  try {
    const problems = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).filter((m) => m !== 'ok');
    if (problems.length > 0) throw new CommandRefusal(`the database in ${file} fails SQLite's integrity check (${problems.slice(0, 3).join('; ')}): use another backup`);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > migrations.length) throw newerSchema(version);
    const tables = new Set((db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name));
    if (!tables.has('audit') || !tables.has('cases')) throw new CommandRefusal(`the database in ${file} holds no cabinet (no cases or audit table): use another backup`);
    const verdict = new AuditChain(db).verify();
    if (!verdict.ok) throw new CommandRefusal(`the audit chain in ${file} is broken at entry ${verdict.brokenAt} (${verdict.problem}): use another backup`);

    let keyring: Keyring;
    try {
      keyring = Keyring.openOrCreate(dir); // the file is there: a backup without it is refused by its header
    } catch {
      throw new CommandRefusal(`${KEY_FILE_NAME} in ${file} is not a govlocker key file: use another backup`);
    }
    const sample = db.prepare('SELECT case_no, applicant_enc FROM cases WHERE applicant_enc IS NOT NULL LIMIT 1').get() as { case_no: string; applicant_enc: Buffer } | undefined;
    if (sample) {
      try {
        keyring.decrypt(sample.applicant_enc);
      } catch {
        throw new CommandRefusal(`${KEY_FILE_NAME} in ${file} does not open the applicant data of case ${sample.case_no}: the key and the database do not belong together; use another backup`);
      }
    }
    if (existsSync(join(dir, COMMAND_KEY_FILE))) {
      try {
        readCommandKey(join(dir, COMMAND_KEY_FILE));
      } catch {
        throw new CommandRefusal(`${COMMAND_KEY_FILE} in ${file} is not a command key: use another backup`);
      }
    }
    return { entries: verdict.entries, head: verdict.head };
  } finally {
    db.close();
  }
}

export const RESTORE_USAGE = 'usage: govlocker restore --from FILE --data DIR [--expect-cabinet ID] [--passphrase-file FILE]';

export function restoreCommand(args: string[]): void {
  const { values } = parseArgs({
    args, strict: true,
    options: { from: { type: 'string' }, data: { type: 'string' }, 'expect-cabinet': { type: 'string' }, 'passphrase-file': { type: 'string' } },
  });
  if (!values.from) refuse('restore', `--from FILE names the backup to restore\n${RESTORE_USAGE}`);
  // No default here: a restore writes a data dir, so it is always named.
  if (!values.data) refuse('restore', `--data DIR names the new data directory (it must not exist, or be empty)\n${RESTORE_USAGE}`);
  try {
    const passphrase = values['passphrase-file'] === undefined ? undefined : readPassphrase(values['passphrase-file']);
    const report = restoreDataDir({ from: values.from, dataDir: values.data, passphrase, expectCabinet: values['expect-cabinet'] });
    process.stdout.write(restoreSummary(report));
  } catch (error) {
    if (error instanceof CommandRefusal || error instanceof ArchiveRefusal || error instanceof PassphraseError) refuse('restore', error.message);
    throw error;
  }
}

function restoreSummary(r: RestoreReport): string {
  const h = r.header;
  const uid = process.getuid?.();
  const lines = [
    `govlocker restore: restored the data of cabinet ${h.cabinetId ?? '(not recorded in the backup)'} into ${r.dataDir}`,
    `  backup          ${formatBytes(r.bytes)}, written ${h.createdAt} by govlocker ${h.govlocker}${h.encryption ? ', encrypted' : ''}`,
    `  schema version  ${h.schemaVersion} (this govlocker: ${migrations.length}${h.schemaVersion < migrations.length ? '; the cabinet upgrades it when it starts' : ''})`,
    `  cases           ${formatCount(h.cases)}`,
    `  audit chain     intact, ${formatCount(r.auditEntries)} entries`,
    `  files           ${h.files.map((f) => f.name).join(', ')} (directory 0700, files 0600)`,
    `  took            ${(r.ms / 1000).toFixed(2)} s`,
  ];
  if (h.cabinetId) lines.push(`  next            start the cabinet with "dataDir": "${r.dataDir}" and "cabinetId": "${h.cabinetId}"`);
  if (uid === 0) lines.push(`  owner           root: if the cabinet runs as another user, chown -R USER: ${r.dataDir}`);
  return lines.join('\n') + '\n';
}
