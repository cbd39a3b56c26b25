import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DATABASE_FILE } from '../controller/cabinet.ts';
import { hashPassword, passwordProblem } from '../controller/secrets/password-hash.ts';
import { AuditChain } from '../controller/store/audit-chain.ts';
import { openDatabase } from '../controller/store/database.ts';
import { itemTypes, type ItemType } from '../controller/domain/types.ts';
import { newToken, roles, UsersRepo, type Role } from '../controller/store/users-repo.ts';

export const USERS_USAGE = `usage: govlocker users add --name NAME --role ${roles.join('|')} [--items TYPE,…] [--password P | --password -] [--must-change] [--data DIR]
       govlocker users list [--data DIR]`;

function fail(message: string): never {
  process.stderr.write(`govlocker: ${message}\n`);
  process.exit(2);
}

/**
 * `govlocker users add`: a person who signs in with a password (`--password`; `-` reads it from the first line
 * of stdin, so it stays out of the shell's history), or without one a machine with a bearer token, printed
 * once. Only the scrypt hash of a password and the SHA-256 of a token are stored; neither is ever audited.
 */
export async function usersCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest, strict: true,
    options: { name: { type: 'string' }, role: { type: 'string' }, data: { type: 'string' }, password: { type: 'string' }, 'must-change': { type: 'boolean' }, items: { type: 'string' } },
  });
  if (sub !== 'add' && sub !== 'list') fail(USERS_USAGE);
  const dir = resolve(values.data ?? process.env.GOVLOCKER_DATA_DIR ?? './data');
  if (sub === 'add') {
    // Everything is checked before the database is opened: a refused command leaves nothing behind.
    const name = values.name?.trim();
    if (!name || !/^[\p{L}\p{N}._-]{1,40}$/u.test(name)) fail(`--name is 1–40 letters, digits, ".", "_" or "-", e.g. --name li\n${USERS_USAGE}`);
    if (!roles.includes(values.role as Role)) fail(`--role is one of ${roles.join(', ')}${values.role === undefined ? '' : `, not "${values.role}"`}\n${USERS_USAGE}`);
    const items = courierItems(values.role as Role, values.items);
    if (values['must-change'] && values.password === undefined) fail('--must-change is for a person with a password: add --password P (a machine\'s token has nothing to change)');
    const password = values.password === '-' ? firstLineOfStdin() : values.password;
    if (password !== undefined) {
      const problem = passwordProblem(password, name);
      if (problem) fail(`--password: ${problem}`);
    }
    return add(dir, name, values.role as Role, password, values['must-change'] === true, items);
  }
  const db = openDatabase(join(dir, DATABASE_FILE));
  try {
    const users = new UsersRepo(db);
    // A courier's line ends with the item types they may load.
    for (const u of users.list()) process.stdout.write(`${u.name}\t${u.role}\t${new Date(u.createdAt).toISOString()}${u.role === 'courier' ? `\t${users.itemTypesOf(u.id).join(',')}` : ''}\n`);
  } finally {
    db.close();
  }
}

async function add(dir: string, name: string, role: Role, password: string | undefined, mustChange: boolean, items: ItemType[] | null): Promise<void> {
  const hash = password === undefined ? null : await hashPassword(password);
  const db = openDatabase(join(dir, DATABASE_FILE));
  const users = new UsersRepo(db);
  const audit = new AuditChain(db);
  try {
    if (users.byName(name)) fail(`a user named ${name} exists already: choose another name`);
    const token = hash === null ? newToken() : null;
    const now = Date.now();
    db.transaction(() => {
      if (hash !== null) users.addPerson(name, role, hash, now, mustChange, items);
      else users.add(name, role, token!, now, items);
      audit.append('cli', 'user.added', { name, role, signsInWith: hash === null ? 'token' : 'password', ...(hash !== null ? { mustChangePassword: mustChange } : {}), ...(items ? { itemTypes: items } : {}) }, now);
    }).immediate();
    if (items) process.stdout.write(`${name} may load: ${items.join(', ')}\n`);
    if (token) process.stdout.write(`added ${role} "${name}". Token (shown once, keep it safe):\n${token}\n`);
    else process.stdout.write(`added ${role} "${name}", who signs in with the password given${mustChange ? ' and must choose a new one at the first sign-in' : ''} (the clerk station, or POST /api/v1/session).\n`);
  } finally {
    db.close();
  }
}

/**
 * `--items seal,invoice`: the item types a courier's department brings, each from the domain's list; refused
 * for every other role (who may load anything or nothing). A courier added without it (CONTRACT §8's command as
 * written: one courier service for every department) may load every item type, and is told so.
 */
function courierItems(role: Role, items: string | undefined): ItemType[] | null {
  if (role !== 'courier') {
    if (items !== undefined) fail(`--items is for a courier (the item types their department brings), not the ${role} role`);
    return null;
  }
  if (items === undefined) return [...itemTypes];
  const given = items.split(',').map((t) => t.trim()).filter(Boolean);
  if (given.length === 0) fail(`--items is empty: name the item types the courier may load, comma-separated, from ${itemTypes.join(', ')} (e.g. --items seal), or leave --items out for every type`);
  const unknown = given.filter((t) => !(itemTypes as readonly string[]).includes(t));
  if (unknown.length > 0) fail(`--items: ${unknown.map((t) => `"${t}"`).join(', ')} ${unknown.length > 1 ? 'are not item types' : 'is not an item type'}; the item types are ${itemTypes.join(', ')}`);
  return [...new Set(given)] as ItemType[];
}

function firstLineOfStdin(): string {
  let text: string;
  try {
    text = readFileSync(0, 'utf8');
  } catch {
    fail('--password - reads the password from stdin, but none could be read: pipe it in, e.g. printf %s "$PW" | govlocker users add …');
  }
  const line = text.split(/\r?\n/)[0] ?? '';
  if (!line) fail('--password - read an empty line from stdin: pipe the password in');
  return line;
}
