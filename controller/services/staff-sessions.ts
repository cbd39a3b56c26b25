import { createHash, randomBytes } from 'node:crypto';
import type { Role, UserRow } from '../store/users-repo.ts';

/** A signed-in person, as the cabinet remembers them between requests. */
export interface StaffSession {
  readonly userId: number;
  readonly name: string;
  readonly role: Role;
  readonly startedAt: number;
  /** The last change made or asked for by the person (not the page's own refreshes). */
  readonly lastActiveAt: number;
  /** Signed in with a password made for them: only the password change is open until they set their own. */
  readonly mustChangePassword: boolean;
}

type Entry = { -readonly [K in keyof StaffSession]: StaffSession[K] };

export interface SessionLimits {
  readonly idleMs: number;
  readonly lifetimeMs: number;
  /** Sessions kept at the most; past it the oldest ends (each sign-in costs a scrypt, so this is a brake, not a wall). */
  readonly maxSessions?: number;
  /** Sessions one person may hold (tabs, PCs); past it their oldest ends. */
  readonly perPerson?: number;
}

/** 256 random bits, base64url: the only form a session id has outside this process. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
const digest = (id: string) => createHash('sha256').update(id).digest('hex');

/**
 * Signed-in people, in memory only: a restart signs everyone out. Keyed by the SHA-256 of the session id, so
 * what the process holds cannot be replayed as a cookie. A session ends on sign-out, after `idleMs` without
 * activity, or `lifetimeMs` after its sign-in, whichever comes first.
 */
export class StaffSessions {
  readonly #byDigest = new Map<string, Entry>();

  constructor(private readonly limits: SessionLimits) {}

  get size(): number {
    return this.#byDigest.size;
  }

  /** A new session for `user`; returns its id (shown once, in the cookie). */
  start(user: UserRow, mustChangePassword: boolean, now: number): string {
    this.#sweep(now);
    const mine = [...this.#byDigest].filter(([, s]) => s.userId === user.id);
    for (const [key] of mine.slice(0, Math.max(0, mine.length - (this.limits.perPerson ?? 10) + 1))) this.#byDigest.delete(key);
    if (this.#byDigest.size >= (this.limits.maxSessions ?? 2000)) this.#byDigest.delete(this.#byDigest.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    this.#byDigest.set(digest(id), { userId: user.id, name: user.name, role: user.role, startedAt: now, lastActiveAt: now, mustChangePassword });
    return id;
  }

  /**
   * The live session of `id`, or null (unknown, signed out, idle too long, too old). `active`: the person did
   * something, which starts the idle time afresh.
   */
  find(id: string, now: number, active: boolean): StaffSession | null {
    if (!SESSION_ID.test(id)) return null;
    const key = digest(id);
    const session = this.#byDigest.get(key);
    if (!session) return null;
    if (this.#over(session, now)) {
      this.#byDigest.delete(key);
      return null;
    }
    if (active) session.lastActiveAt = now;
    return { ...session };
  }

  /** Ends the session of `id`; what it was, or null when there was none. */
  end(id: string): StaffSession | null {
    if (!SESSION_ID.test(id)) return null;
    const key = digest(id);
    const session = this.#byDigest.get(key);
    this.#byDigest.delete(key);
    return session ? { ...session } : null;
  }

  /** Ends every session of a person but `keep` (their own, after a password change); how many ended. */
  endAllOf(userId: number, keep?: string): number {
    const kept = keep && SESSION_ID.test(keep) ? digest(keep) : null;
    let ended = 0;
    for (const [key, s] of this.#byDigest) {
      if (s.userId === userId && key !== kept) {
        this.#byDigest.delete(key);
        ended++;
      }
    }
    return ended;
  }

  /** The person of `id` has set their own password: the whole API is open to the session again. */
  passwordSet(id: string): void {
    const session = SESSION_ID.test(id) ? this.#byDigest.get(digest(id)) : undefined;
    if (session) session.mustChangePassword = false;
  }

  #over(s: Entry, now: number): boolean {
    return now - s.lastActiveAt >= this.limits.idleMs || now - s.startedAt >= this.limits.lifetimeMs;
  }

  #sweep(now: number): void {
    for (const [key, s] of this.#byDigest) if (this.#over(s, now)) this.#byDigest.delete(key);
  }
}
