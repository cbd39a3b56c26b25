import { createHash, randomBytes } from 'node:crypto';
import { itemTypes, type ItemType } from '../domain/types.ts';
import type { Db } from './database.ts';

/** `integration`: the hall's case system; `courier`: a department's courier loading items (issue of the hall's workflow). */
export const roles = ['clerk', 'ops', 'admin', 'integration', 'courier'] as const;
export type Role = (typeof roles)[number];

export interface UserRow { readonly id: number; readonly name: string; readonly role: Role; readonly createdAt: number }

/** What a password sign-in needs to know about a person. */
export interface SigninRecord {
  readonly user: UserRow;
  readonly passwordHash: string | null;
  readonly mustChange: boolean;
  readonly failedSignins: number;
  readonly lockedUntil: number | null;
}

type Row = { id: number; name: string; role: Role; created_at: number };
const toUser = (r: Row): UserRow => ({ id: r.id, name: r.name, role: r.role, createdAt: r.created_at });

/** Bearer tokens carry 256 random bits, so a plain SHA-256 is a safe stored form. */
export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');
export const newToken = (): string => 'glk_' + randomBytes(32).toString('base64url');

export class UsersRepo {
  constructor(private readonly db: Db) {}

  count(role?: Role): number {
    const row = role
      ? this.db.prepare('SELECT count(*) AS n FROM users WHERE revoked_at IS NULL AND role = ?').get(role)
      : this.db.prepare('SELECT count(*) AS n FROM users WHERE revoked_at IS NULL').get();
    return (row as { n: number }).n;
  }

  /** A machine (or the demo's admin): signs in with a bearer token. `itemTypes`: what a courier may load. */
  add(name: string, role: Role, token: string, now: number, itemTypes: readonly ItemType[] | null = null): UserRow {
    const id = Number(this.db.prepare('INSERT INTO users (name, role, token_hash, created_at, item_types) VALUES (?, ?, ?, ?, ?)')
      .run(name, role, tokenHash(token), now, itemTypesColumn(role, itemTypes)).lastInsertRowid);
    return { id, name, role, createdAt: now };
  }

  /** A person: signs in with a password (`mustChange`: one made for them, to be replaced at the first sign-in). */
  addPerson(name: string, role: Role, passwordHash: string, now: number, mustChange: boolean, itemTypes: readonly ItemType[] | null = null): UserRow {
    const id = Number(this.db.prepare('INSERT INTO users (name, role, password_hash, must_change, password_set_at, created_at, item_types) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(name, role, passwordHash, mustChange ? 1 : 0, now, now, itemTypesColumn(role, itemTypes)).lastInsertRowid);
    return { id, name, role, createdAt: now };
  }

  /** The item types a courier may load (their department's); empty for anyone else. */
  itemTypesOf(id: number): ItemType[] {
    const r = this.db.prepare('SELECT item_types FROM users WHERE id = ?').get(id) as { item_types: string | null } | undefined;
    return parseItemTypes(r?.item_types ?? null);
  }

  /** The current couriers who may load items of this type, by name. */
  couriersFor(type: ItemType): string[] {
    return (this.db.prepare(`SELECT name FROM users WHERE role = 'courier' AND revoked_at IS NULL AND item_types IS NOT NULL
      AND EXISTS (SELECT 1 FROM json_each(users.item_types) WHERE value = ?) ORDER BY name`).all(type) as { name: string }[]).map((r) => r.name);
  }

  byId(id: number): UserRow | undefined {
    const r = this.db.prepare('SELECT id, name, role, created_at FROM users WHERE id = ? AND revoked_at IS NULL').get(id) as Row | undefined;
    return r && toUser(r);
  }

  /** A current person's sign-in record by name (undefined for unknown or revoked names). */
  signinRecord(name: string): SigninRecord | undefined {
    const r = this.db.prepare('SELECT id, name, role, created_at, password_hash, must_change, failed_signins, locked_until FROM users WHERE name = ? AND revoked_at IS NULL')
      .get(name) as (Row & { password_hash: string | null; must_change: number; failed_signins: number; locked_until: number | null }) | undefined;
    return r && { user: toUser(r), passwordHash: r.password_hash, mustChange: r.must_change === 1, failedSignins: r.failed_signins, lockedUntil: r.locked_until };
  }

  /** A wrong password: one more failure in a row, and (when the policy says so) locked until `lockedUntil`. */
  recordFailedSignin(id: number, failedSignins: number, lockedUntil: number | null): void {
    this.db.prepare('UPDATE users SET failed_signins = ?, locked_until = ? WHERE id = ?').run(failedSignins, lockedUntil, id);
  }

  /** A right password: the failures are forgotten. */
  recordSignin(id: number): void {
    this.db.prepare('UPDATE users SET failed_signins = 0, locked_until = NULL WHERE id = ?').run(id);
  }

  setPassword(id: number, passwordHash: string, now: number, mustChange: boolean): void {
    this.db.prepare('UPDATE users SET password_hash = ?, must_change = ?, password_set_at = ?, failed_signins = 0, locked_until = NULL WHERE id = ?')
      .run(passwordHash, mustChange ? 1 : 0, now, id);
  }

  byName(name: string): UserRow | undefined {
    const r = this.db.prepare('SELECT id, name, role, created_at FROM users WHERE name = ?').get(name) as { id: number; name: string; role: Role; created_at: number } | undefined;
    return r && { id: r.id, name: r.name, role: r.role, createdAt: r.created_at };
  }

  byToken(token: string): UserRow | undefined {
    const r = this.db.prepare('SELECT id, name, role, created_at FROM users WHERE token_hash = ? AND revoked_at IS NULL').get(tokenHash(token)) as { id: number; name: string; role: Role; created_at: number } | undefined;
    return r && { id: r.id, name: r.name, role: r.role, createdAt: r.created_at };
  }

  list(): UserRow[] {
    return (this.db.prepare('SELECT id, name, role, created_at FROM users WHERE revoked_at IS NULL ORDER BY id').all() as { id: number; name: string; role: Role; created_at: number }[])
      .map((r) => ({ id: r.id, name: r.name, role: r.role, createdAt: r.created_at }));
  }
}

/** Only a courier has item types, and a courier always has at least one. */
function itemTypesColumn(role: Role, types: readonly ItemType[] | null): string | null {
  if (role !== 'courier') {
    if (types && types.length > 0) throw new Error(`only a courier has item types, not the ${role} role`);
    return null;
  }
  if (!types || types.length === 0) throw new Error('a courier needs the item types they may load');
  return JSON.stringify([...new Set(types)]);
}

function parseItemTypes(column: string | null): ItemType[] {
  if (column === null) return [];
  const parsed = JSON.parse(column) as unknown;
  return Array.isArray(parsed) ? parsed.filter((t): t is ItemType => (itemTypes as readonly unknown[]).includes(t)) : [];
}
