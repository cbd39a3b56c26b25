import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ensurePrivateDir, tightenIfPresent } from '../controller/store/private-files.ts';
import { CABINET_ACCOUNT, SERVICE_ACCOUNTS } from './broker-acl.ts';

/** The embedded broker's accounts, in the data dir beside the other secrets (mode 0600). */
export const BROKER_ACCOUNTS_FILE = 'mqtt-accounts.json';

const accountsFileSchema = z.object({
  accounts: z.record(
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'an account name is letters, digits, ".", "_" or "-"'),
    z.string().min(16, 'a password is at least 16 characters: delete the file to have new ones made'),
  ),
}).strict();

export interface BrokerAccounts {
  /** The file they are kept in. */
  readonly file: string;
  /** Account name → password: the cabinet (name = its id) and the service accounts of deploy/mosquitto/acl. */
  readonly passwords: ReadonlyMap<string, string>;
}

// URL-safe, so a password goes into mqtt://user:password@host without encoding; 144 random bits.
const newPassword = (random: (n: number) => Buffer): string => random(18).toString('base64url');

/**
 * The accounts of `npm start`'s embedded broker: read from `<dataDir>/mqtt-accounts.json`, and any missing one
 * (a first start, or another cabinet id on the same data dir) made with a random password and saved. A restart
 * on the same data dir keeps them, so a connected ops console or SMS gateway keeps working.
 */
export function loadOrCreateBrokerAccounts(dataDir: string, cabinetId: string, random: (n: number) => Buffer = randomBytes): BrokerAccounts {
  if (!CABINET_ACCOUNT.test(cabinetId)) throw new Error(`cabinet id "${cabinetId}" cannot be a broker account`);
  ensurePrivateDir(dataDir);
  const file = join(dataDir, BROKER_ACCOUNTS_FILE);
  let stored: Record<string, string> = {};
  if (existsSync(file)) {
    tightenIfPresent(file);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      throw new Error(`${file} is not JSON: delete it to have new broker passwords made`);
    }
    const parsed = accountsFileSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    stored = parsed.data.accounts;
  }
  const wanted = [cabinetId, ...SERVICE_ACCOUNTS];
  const missing = wanted.filter((name) => !stored[name]);
  if (missing.length > 0) {
    for (const name of missing) stored[name] = newPassword(random);
    // Written whole to a temp file (0600 from the start) and renamed: never a half-written or readable file.
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify({ accounts: stored }, null, 2) + '\n', { mode: 0o600 });
    renameSync(temp, file);
  }
  // Only this cabinet and the services: an old cabinet id on a reused data dir gets no login.
  return { file, passwords: new Map(wanted.map((name) => [name, stored[name]!])) };
}

/** `mqtt://account:password@host:port`, for the banner (the only place a password is shown). */
export const accountUrl = (brokerUrl: string, account: string, password: string): string =>
  brokerUrl.replace('://', `://${encodeURIComponent(account)}:${encodeURIComponent(password)}@`);
