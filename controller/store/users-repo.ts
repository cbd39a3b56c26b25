import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './database.ts';

export const roles = ['clerk', 'ops', 'admin'] as const;
export type Role = (typeof roles)[number];

export interface UserRow { readonly id: number; readonly name: string; readonly role: Role; readonly createdAt: number }

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

  add(name: string, role: Role, token: string, now: number): UserRow {
    const id = Number(this.db.prepare('INSERT INTO users (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)').run(name, role, tokenHash(token), now).lastInsertRowid);
    return { id, name, role, createdAt: now };
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
