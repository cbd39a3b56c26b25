import { createHash, randomBytes, randomInt } from 'node:crypto';
import { chownSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DATABASE_FILE } from '../controller/cabinet.ts';
import { configSchema } from '../controller/config/schema.ts';
import { COMMAND_KEY_FILE } from '../controller/mqtt/central-ops.ts';
import { loadOrCreateCommandKey } from '../controller/mqtt/command-auth.ts';
import { Keyring } from '../controller/secrets/keyring.ts';
import { hashPassword } from '../controller/secrets/password-hash.ts';
import { AuditChain } from '../controller/store/audit-chain.ts';
import { openDatabase } from '../controller/store/database.ts';
import { ensurePrivateDir } from '../controller/store/private-files.ts';
import { PROVISION_RECORD_FILE, provisionRecordText } from '../controller/store/provision-record.ts';
import { UsersRepo } from '../controller/store/users-repo.ts';
import { CommandRefusal } from './backup-common.ts';

// `govlocker provision`: turns an empty directory into a cabinet's data dir — its keys (personal data,
// command signing), its database with a first admin who signs in with a one-time password, the cabinet's
// broker password — and writes (or completes) the cabinet's config. What ops and the first admin need is
// printed once; nothing secret is logged or kept outside the data dir and the config (both private).

export interface ProvisionOptions {
  readonly dataDir: string;
  readonly cabinetId: string;
  readonly admin: string;
  /** The config file to write, or to complete when it exists (cabinetId, dataDir, mqtt login). */
  readonly config?: string;
  /** Central ops' broker: mqtt://host:port or mqtts://host:port. */
  readonly mqttUrl?: string;
  readonly now?: number;
}

export interface Provisioned {
  readonly dataDir: string;
  readonly cabinetId: string;
  readonly admin: string;
  /** Shown once: the admin replaces it at the first sign-in. */
  readonly adminPassword: string;
  /** The cabinet's broker login (user name = cabinet id), shown once for ops' password file. */
  readonly mqttPassword: string;
  readonly commandKeyFile: string;
  readonly commandKeyFingerprint: string;
  readonly config: string | null;
}

const CABINET_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const PERSON_NAME = /^[\p{L}\p{N}._-]{1,40}$/u;
/** No 0/O, 1/l/I: read off a screen and typed at the clerk station. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';

/** 4 groups of 4 from 56 symbols: about 93 bits, well past the password policy, and easy to read out. */
export function oneTimePassword(): string {
  return Array.from({ length: 4 }, () => Array.from({ length: 4 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')).join('-');
}

function refuseBadOptions(o: ProvisionOptions): void {
  if (!CABINET_ID.test(o.cabinetId)) throw new CommandRefusal(`--cabinet "${o.cabinetId}" is not a cabinet id: 1–32 letters, digits, "-" or "_", e.g. BY-HALL-03`);
  if (o.cabinetId.toUpperCase() === 'DEMO-01') throw new CommandRefusal('--cabinet DEMO-01 is the demo\'s id: give the cabinet the id central ops registered it under, e.g. BY-HALL-03');
  if (!PERSON_NAME.test(o.admin)) throw new CommandRefusal(`--admin "${o.admin}" is not a name: 1–40 letters, digits, ".", "_" or "-"`);
  if (o.mqttUrl !== undefined && !/^mqtts?:\/\/[^/\s@]+$/.test(o.mqttUrl)) {
    throw new CommandRefusal(`--mqtt "${o.mqttUrl}" is not a broker URL: mqtts://host:port (or mqtt://host:port on a closed network), without a login (provisioning makes the cabinet's own)`);
  }
}

/** An empty (or absent) directory only: an existing cabinet's data is never touched. */
function refuseUsedDir(dataDir: string): void {
  if (!existsSync(dataDir)) return;
  if (!statSync(dataDir).isDirectory()) throw new CommandRefusal(`${dataDir} is a file: --data names a directory for the cabinet's data`);
  if (existsSync(join(dataDir, PROVISION_RECORD_FILE))) throw new CommandRefusal(`${dataDir} is already provisioned (${PROVISION_RECORD_FILE}): a cabinet is provisioned once; to start over, move that directory away first`);
  const entries = readdirSync(dataDir);
  if (entries.length > 0) throw new CommandRefusal(`${dataDir} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}): provision into a new or empty directory`);
}

/** The config to write: an existing one completed, or a new one with the provisioned values. */
function configText(o: ProvisionOptions, mqttPassword: string): string {
  let raw: Record<string, unknown> = {};
  if (o.config && existsSync(o.config)) {
    try {
      raw = JSON.parse(readFileSync(o.config, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new CommandRefusal(`${o.config} is not valid JSON (${(error as Error).message}): fix it, or pass --config with a new file name`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CommandRefusal(`${o.config} is not a config object: fix it, or pass --config with a new file name`);
  }
  const previousMqtt = typeof raw.mqtt === 'object' && raw.mqtt !== null ? raw.mqtt as Record<string, unknown> : {};
  const mqttUrl = o.mqttUrl ?? (typeof previousMqtt.url === 'string' ? previousMqtt.url : undefined);
  const next: Record<string, unknown> = {
    ...raw,
    cabinetId: o.cabinetId,
    dataDir: o.dataDir,
    mqtt: mqttUrl ? { ...previousMqtt, url: mqttUrl, username: o.cabinetId, password: mqttPassword } : null,
  };
  const checked = configSchema.safeParse(next);
  if (!checked.success) {
    const problems = checked.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
    throw new CommandRefusal(`${o.config} would not be a usable config after provisioning:\n${problems}\nfix it first (nothing was written)`);
  }
  return JSON.stringify(next, null, 2) + '\n';
}

/** Writes `text` to `file` all at once (a temporary file renamed over it), keeping an existing file's mode. */
function writeAtomically(file: string, text: string): void {
  const before = existsSync(file) ? statSync(file) : null;
  const temporary = join(dirname(file), `.${Date.now()}-${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(temporary, text, { mode: before ? before.mode & 0o777 : 0o600, flag: 'wx' });
  // Run as root on /etc/govlocker/cabinet.json (root:govlocker 0640): the service must still read it.
  if (before) chownSync(temporary, before.uid, before.gid);
  renameSync(temporary, file);
}

export async function provision(options: ProvisionOptions): Promise<Provisioned> {
  const o = { ...options, dataDir: resolve(options.dataDir), config: options.config && resolve(options.config) };
  refuseBadOptions(o);
  refuseUsedDir(o.dataDir);
  if (o.config && !existsSync(dirname(o.config))) throw new CommandRefusal(`the directory ${dirname(o.config)} does not exist: create it first (e.g. /etc/govlocker, readable by the cabinet's user only)`);
  const adminPassword = oneTimePassword();
  const mqttPassword = randomBytes(24).toString('base64url');
  // Checked before anything is written: a config that would not load leaves no half-made data dir behind.
  const config = o.config ? configText(o, mqttPassword) : null;
  const passwordHash = await hashPassword(adminPassword);
  const now = o.now ?? Date.now();
  const existed = existsSync(o.dataDir);
  try {
    ensurePrivateDir(o.dataDir);
    Keyring.openOrCreate(o.dataDir);
    const commandKeyFile = join(o.dataDir, COMMAND_KEY_FILE);
    const commandKey = loadOrCreateCommandKey(commandKeyFile);
    const db = openDatabase(join(o.dataDir, DATABASE_FILE));
    try {
      const users = new UsersRepo(db);
      const audit = new AuditChain(db);
      db.transaction(() => {
        users.addPerson(o.admin, 'admin', passwordHash, now, true);
        audit.append('cli', 'cabinet.provisioned', { cabinetId: o.cabinetId, admin: o.admin }, now);
        audit.append('cli', 'user.added', { name: o.admin, role: 'admin', signsInWith: 'password', oneTime: true }, now);
      }).immediate();
    } finally {
      db.close();
    }
    if (config && o.config) writeAtomically(o.config, config);
    // Last: a data dir without this record is not a cabinet's yet, whatever else was written.
    writeFileSync(join(o.dataDir, PROVISION_RECORD_FILE), provisionRecordText({ version: 1, cabinetId: o.cabinetId, provisionedAt: new Date(now).toISOString(), admin: o.admin }), { mode: 0o600, flag: 'wx' });
    return {
      dataDir: o.dataDir, cabinetId: o.cabinetId, admin: o.admin, adminPassword, mqttPassword, commandKeyFile,
      commandKeyFingerprint: createHash('sha256').update(commandKey).digest('hex').slice(0, 16),
      config: o.config ?? null,
    };
  } catch (error) {
    // Nothing half-made: the directory goes back to what it was (absent or empty).
    if (existed) for (const entry of readdirSync(o.dataDir)) rmSync(join(o.dataDir, entry), { recursive: true, force: true });
    else rmSync(o.dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** What is printed once: for the first admin, for ops, and what to do next. */
export function provisionReport(p: Provisioned, mqttUrl: string | undefined): string {
  const lines = [
    `provisioned cabinet ${p.cabinetId} in ${p.dataDir}`,
    '',
    `first admin "${p.admin}" — one-time password (shown once; it must be changed at the first sign-in at /clerk):`,
    `  ${p.adminPassword}`,
    '',
    `for central ops (shown once):`,
    `  broker login: user "${p.cabinetId}", password ${p.mqttPassword}`,
    `    add it to the broker's password file: mosquitto_passwd /etc/mosquitto/govlocker/passwd ${p.cabinetId}`,
    `  command key: ${p.commandKeyFile} (fingerprint ${p.commandKeyFingerprint})`,
    `    copy it to ops over a secure channel (scp): ops sign this cabinet's commands with it`,
    '',
    p.config
      ? `config: ${p.config} (cabinetId, dataDir${mqttUrl ? ', mqtt login' : ''} set; review hardware and compartments)`
      : `no --config given: set "cabinetId": "${p.cabinetId}" and "dataDir": "${p.dataDir}" in the cabinet's config${mqttUrl ? ', and the mqtt login above' : ''}`,
    `next: govlocker controller --config ${p.config ?? 'FILE'}   (or: systemctl start govlocker)`,
  ];
  return lines.join('\n') + '\n';
}
