import type { StaffConfig } from '../config/staff-schema.ts';
import { decoyHash, hashPassword, passwordProblem, verifyPassword } from '../secrets/password-hash.ts';
import type { UserRow } from '../store/users-repo.ts';
import type { ServiceContext } from './context.ts';
import { StaffSessions, type StaffSession } from './staff-sessions.ts';

export type SigninOutcome =
  | { readonly ok: true; readonly sessionId: string; readonly session: StaffSession }
  /** The same for an unknown name, a machine's name and a wrong password. */
  | { readonly ok: false; readonly reason: 'wrong-pair' }
  | { readonly ok: false; readonly reason: 'locked'; readonly retryAfterSeconds: number };

export type PasswordChangeOutcome =
  | { readonly ok: true; readonly session: StaffSession }
  | { readonly ok: false; readonly reason: 'signed-out' }
  | { readonly ok: false; readonly reason: 'wrong-current' }
  | { readonly ok: false; readonly reason: 'locked'; readonly retryAfterSeconds: number }
  | { readonly ok: false; readonly reason: 'weak'; readonly problem: string };

/** Wrong passwords for names nobody has, so that they lock exactly as a person's name does. */
type Strikes = { failures: number; lockedUntil: number | null };
const UNKNOWN_NAMES_KEPT = 10_000;

/** `clerk:li`: how the audit names a person, as it names every staff action. */
const actorOf = (user: Pick<UserRow, 'name' | 'role'>) => `${user.role}:${user.name}`;

/**
 * People signing in with a name and a password: the check (as slow for an unknown name as for a wrong
 * password), the lock on a name after wrong passwords in a row (kept in the database), the sessions, the
 * password change. Every sign-in, sign-out, failure, lock and change is audited under the person's name;
 * never a password, and never a name nobody has (it may be a password typed in the wrong field).
 */
export class StaffSignin {
  readonly sessions: StaffSessions;
  readonly #unknown = new Map<string, Strikes>();
  /** One check per name at a time, so that parallel guesses cannot slip past the lock. */
  readonly #busy = new Map<string, Promise<unknown>>();

  constructor(private readonly s: ServiceContext) {
    const { sessionIdleMinutes, sessionHours } = s.config.staff;
    this.sessions = new StaffSessions({ idleMs: sessionIdleMinutes * 60_000, lifetimeMs: sessionHours * 3_600_000 });
  }

  /** The session and lock settings (`staff` in the config). */
  get limits(): StaffConfig {
    return this.s.config.staff;
  }

  #now(): number {
    return this.s.store.clock.now();
  }

  get #lockMs(): number {
    return this.s.config.staff.lockoutMinutes * 60_000;
  }

  signIn(name: string, password: string, from: string): Promise<SigninOutcome> {
    return this.#oneAtATime(name, async (): Promise<SigninOutcome> => {
      const record = this.s.repos.users.signinRecord(name);
      // A machine (token only) has no password: its name answers as an unknown one.
      const person = record?.passwordHash ? { ...record, passwordHash: record.passwordHash } : undefined;
      const now = this.#now();
      const lockedUntil = person ? person.lockedUntil : this.#unknown.get(name)?.lockedUntil ?? null;
      if (lockedUntil !== null && lockedUntil > now) return locked(lockedUntil, now);
      const right = await verifyPassword(password, person?.passwordHash ?? (await decoyHash()));
      if (!person) return this.#unknownNameFailed(name);
      if (!right) {
        const outcome = this.#failed(person.user, from, 'sign-in');
        return outcome === 'wrong' ? { ok: false, reason: 'wrong-pair' } : outcome;
      }
      this.s.store.change((ctx) => {
        this.s.repos.users.recordSignin(person.user.id);
        ctx.audit(actorOf(person.user), 'staff.signed_in', { name: person.user.name, from, mustChangePassword: person.mustChange });
      });
      const sessionId = this.sessions.start(person.user, person.mustChange, this.#now());
      return { ok: true, sessionId, session: this.sessions.find(sessionId, this.#now(), false)! };
    });
  }

  /** The live session of a cookie's id, or null. `active`: a change made or asked for by the person. */
  session(id: string, active: boolean): StaffSession | null {
    return this.sessions.find(id, this.#now(), active);
  }

  /** Ends a session (sign-out); false when it had ended already. */
  signOut(id: string, from: string): boolean {
    const session = this.sessions.end(id);
    if (!session) return false;
    try {
      this.s.store.change((ctx) => ctx.audit(actorOf(session), 'staff.signed_out', { name: session.name, from }));
    } catch (error) {
      // Signed out all the same: a disk that cannot be written must not keep a session open.
      this.s.logger.warn({ err: (error as Error).message, name: session.name }, 'sign-out could not be audited');
    }
    return true;
  }

  /**
   * A signed-in person replaces their password: the current one is checked (a wrong one counts towards the
   * lock, and a lock ends all their sessions), the new one against the policy. Their other sessions end.
   */
  async changePassword(sessionId: string, current: string, next: string, from: string): Promise<PasswordChangeOutcome> {
    const session = this.session(sessionId, true);
    if (!session) return { ok: false, reason: 'signed-out' };
    return this.#oneAtATime(session.name, async (): Promise<PasswordChangeOutcome> => {
      const record = this.s.repos.users.signinRecord(session.name);
      if (!record || record.user.id !== session.userId || !record.passwordHash) {
        this.sessions.end(sessionId);
        return { ok: false, reason: 'signed-out' };
      }
      const now = this.#now();
      if (record.lockedUntil !== null && record.lockedUntil > now) {
        this.sessions.endAllOf(record.user.id);
        return locked(record.lockedUntil, now);
      }
      if (!(await verifyPassword(current, record.passwordHash))) {
        const outcome = this.#failed(record.user, from, 'password-change');
        return outcome === 'wrong' ? { ok: false, reason: 'wrong-current' } : outcome;
      }
      const problem = next === current ? 'the new password is the current one: choose another' : passwordProblem(next, record.user.name);
      if (problem) return { ok: false, reason: 'weak', problem };
      const hash = await hashPassword(next);
      this.s.store.change((ctx) => {
        this.s.repos.users.setPassword(record.user.id, hash, ctx.now, false);
        ctx.audit(actorOf(record.user), 'staff.password_changed', { name: record.user.name, from, wasRequired: record.mustChange });
      });
      this.sessions.passwordSet(sessionId);
      this.sessions.endAllOf(record.user.id, sessionId);
      const after = this.session(sessionId, false);
      return after ? { ok: true, session: after } : { ok: false, reason: 'signed-out' };
    });
  }

  /**
   * One more wrong password in a row for a person; the one that reaches the limit locks the name. A lock that
   * has run out starts the count afresh. Counted in the transaction, so no failure is lost.
   */
  #failed(user: UserRow, from: string, during: 'sign-in' | 'password-change'): 'wrong' | { ok: false; reason: 'locked'; retryAfterSeconds: number } {
    const { lockoutAfterFailures } = this.s.config.staff;
    const outcome = this.s.store.change((ctx) => {
      const fresh = this.s.repos.users.signinRecord(user.name);
      if (!fresh || fresh.user.id !== user.id) return 'wrong' as const;
      if (fresh.lockedUntil !== null && fresh.lockedUntil > ctx.now) return locked(fresh.lockedUntil, ctx.now);
      const failures = (fresh.lockedUntil === null ? fresh.failedSignins : 0) + 1;
      const lockedUntil = failures >= lockoutAfterFailures ? ctx.now + this.#lockMs : null;
      this.s.repos.users.recordFailedSignin(user.id, failures, lockedUntil);
      ctx.audit(actorOf(user), 'staff.signin_failed', { name: user.name, from, during, failuresInARow: failures });
      if (lockedUntil === null) return 'wrong' as const;
      ctx.audit(actorOf(user), 'staff.locked_out', { name: user.name, from, failuresInARow: failures, until: new Date(lockedUntil).toISOString() });
      return locked(lockedUntil, ctx.now);
    });
    // Someone guessing with a signed-in person's session: every session of theirs ends with the lock.
    if (outcome !== 'wrong' && during === 'password-change') this.sessions.endAllOf(user.id);
    return outcome;
  }

  #unknownNameFailed(name: string): SigninOutcome {
    const now = this.#now();
    const before = this.#unknown.get(name);
    const failures = (before && before.lockedUntil === null ? before.failures : 0) + 1;
    const lockedUntil = failures >= this.s.config.staff.lockoutAfterFailures ? now + this.#lockMs : null;
    this.#unknown.delete(name);
    if (this.#unknown.size >= UNKNOWN_NAMES_KEPT) this.#unknown.delete(this.#unknown.keys().next().value!);
    this.#unknown.set(name, { failures, lockedUntil });
    return lockedUntil === null ? { ok: false, reason: 'wrong-pair' } : locked(lockedUntil, now);
  }

  async #oneAtATime<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.#busy.get(name) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    this.#busy.set(name, tail);
    try {
      return await run;
    } finally {
      if (this.#busy.get(name) === tail) this.#busy.delete(name);
    }
  }
}

function locked(until: number, now: number): { ok: false; reason: 'locked'; retryAfterSeconds: number } {
  return { ok: false, reason: 'locked', retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) };
}
