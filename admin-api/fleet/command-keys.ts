import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { newCommand, readCommandKey, type SignedCommand } from '../../controller/mqtt/command-auth.ts';
import { CABINET_ID } from './payloads.ts';

export type KeyLookup = { readonly ok: true; readonly key: Buffer } | { readonly ok: false; readonly error: string };

/**
 * Ops' command keys, one file per cabinet: `<cabinetId>.key`, 64 hex characters (a copy of the cabinet's
 * command.key). Read at each use, so a key added while the monitor runs works at once.
 */
export class CommandKeyDirectory {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    if (!existsSync(this.dir) || !statSync(this.dir).isDirectory()) throw new Error(`--keys ${dir}: no such directory (it holds <cabinetId>.key files)`);
  }

  keyFor(cabinetId: string): KeyLookup {
    if (!CABINET_ID.test(cabinetId)) return { ok: false, error: `"${cabinetId}" is not a cabinet id` };
    const file = join(this.dir, `${cabinetId}.key`);
    if (!existsSync(file)) return { ok: false, error: `no command key for cabinet ${cabinetId}: put a copy of its command.key at ${file}` };
    try {
      return { ok: true, key: readCommandKey(file) };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }
}

export type Signing =
  | { readonly ok: true; readonly command: SignedCommand }
  | { readonly ok: false; readonly reason: 'no-keys' | 'no-key'; readonly error: string };

/** A command for one cabinet signed with that cabinet's key, or why the monitor cannot sign it. */
export function signFor(keys: CommandKeyDirectory | null, cabinetId: string, name: string, args: Record<string, unknown>, now: number): Signing {
  if (!keys) return { ok: false, reason: 'no-keys', error: 'this fleet monitor holds no command keys (--keys DIR)' };
  const key = keys.keyFor(cabinetId);
  if (!key.ok) return { ok: false, reason: 'no-key', error: key.error };
  return { ok: true, command: newCommand(key.key, name, args, now) };
}
