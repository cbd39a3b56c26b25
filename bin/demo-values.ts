import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DATABASE_FILE } from '../controller/cabinet.ts';
import type { ConfigProblem } from '../controller/config/load.ts';
import type { CabinetConfig } from '../controller/config/schema.ts';
import { verifyPassword } from '../controller/secrets/password-hash.ts';
import { readProvisionRecord } from '../controller/store/provision-record.ts';
import { tokenHash } from '../controller/store/users-repo.ts';

// `govlocker controller` is the cabinet in a hall: it refuses to start on what only the demo may use (ETSI EN
// 303 645 §5.1: no universal default passwords) — the demo's cabinet id, the demo admin token or password, a
// broker login anyone could guess (none at all), and a data dir that `govlocker provision` did not make.
// `govlocker start` (the demo on the simulator) is not checked.

/** The token the README's demo examples use, and what a demo admin might have been given as a password. */
export const DEMO_SECRETS = ['demo-token'] as const;

interface StoredUser { name: string; role: string; token_hash: string | null; password_hash?: string | null }

function storedUsers(dataDir: string): StoredUser[] {
  const file = join(dataDir, DATABASE_FILE);
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const columns = (db.prepare('PRAGMA table_info(users)').all() as { name: string }[]).map((c) => c.name);
    const passwords = columns.includes('password_hash') ? ', password_hash' : '';
    return db.prepare(`SELECT name, role, token_hash${passwords} FROM users WHERE revoked_at IS NULL`).all() as StoredUser[];
  } finally {
    db.close();
  }
}

export async function demoValueProblems(config: CabinetConfig, env: NodeJS.ProcessEnv): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  if (config.cabinetId.toUpperCase() === 'DEMO-01') {
    problems.push({ path: 'cabinetId', message: 'DEMO-01 is the demo\'s id: set the id central ops registered this cabinet under (the one given to govlocker provision --cabinet)' });
  }
  if (env.GOVLOCKER_ADMIN_TOKEN) {
    problems.push({ path: 'GOVLOCKER_ADMIN_TOKEN', message: 'set: it seeds a demo admin with a token from the environment; unset it (provisioning made the first admin; machines get tokens from govlocker users add)' });
  }
  let record;
  try {
    record = readProvisionRecord(config.dataDir);
  } catch (error) {
    problems.push({ path: 'dataDir', message: (error as Error).message });
    return problems;
  }
  if (!record) {
    problems.push({ path: 'dataDir', message: `${config.dataDir} was never provisioned: run govlocker provision --data ${config.dataDir} --cabinet ID (the demo, govlocker start, needs none)` });
  } else if (record.cabinetId !== config.cabinetId) {
    problems.push({ path: 'cabinetId', message: `"${config.cabinetId}", but ${config.dataDir} was provisioned for ${record.cabinetId}: use that id, or the data dir provisioned for this cabinet` });
  }
  const demoHashes = new Set(DEMO_SECRETS.map(tokenHash));
  for (const user of storedUsers(config.dataDir)) {
    if (user.token_hash && demoHashes.has(user.token_hash)) {
      problems.push({ path: `users.${user.name}`, message: `the ${user.role} "${user.name}" signs in with the demo token: this data dir was used for the demo; provision a new one` });
      continue;
    }
    // Admins only (scrypt costs ~0.1 s a check): the contract's "an admin whose password is the demo one".
    if (user.password_hash && user.role === 'admin') {
      for (const secret of DEMO_SECRETS) {
        if (await verifyPassword(secret, user.password_hash)) problems.push({ path: `users.${user.name}`, message: `the ${user.role} "${user.name}" has the demo password: set another at /clerk before the cabinet goes into service` });
      }
    }
  }
  const mqtt = config.mqtt;
  if (mqtt && !(mqtt.username && mqtt.password) && !(mqtt.tls?.cert && mqtt.tls.key)) {
    problems.push({ path: 'mqtt.url', message: 'the broker is reached without a login: set mqtt.username and mqtt.password (printed by govlocker provision) or mqtt.tls.cert and mqtt.tls.key (a client certificate)' });
  }
  return problems;
}
