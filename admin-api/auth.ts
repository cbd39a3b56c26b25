import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StaffSignin } from '../controller/services/staff-signin.ts';
import { roles, type Role, type UserRow, type UsersRepo } from '../controller/store/users-repo.ts';
import { FailureThrottle } from './failure-throttle.ts';
import { crossSiteProblem, sessionIdOf, setSessionCookie } from './session-cookie.ts';

declare module 'fastify' {
  interface FastifyRequest {
    user: UserRow | null;
  }
}

/** Who may call what. `admin` may do everything. */
export const access = {
  clerk: ['clerk', 'admin'],
  /** Read-only views ops also need to watch a cabinet. */
  view: ['clerk', 'ops', 'admin'],
  ops: ['ops', 'admin'],
  admin: ['admin'],
  /** Creating cases: clerks at the station, and the hall's case system (idempotent by case number). */
  caseSenders: ['clerk', 'admin', 'integration'],
  /** Amending and cancelling cases: the hall's case system. */
  hallSystem: ['integration', 'admin'],
  /** Looking up one case: whoever may view the cabinet, and the hall's case system. */
  caseLookup: ['clerk', 'ops', 'admin', 'integration'],
  /** Loading items: clerks, and departments' couriers for their own item types. */
  loaders: ['clerk', 'admin', 'courier'],
  /** How a load went: whoever may view the cabinet, and couriers (their own loads only). */
  loadLookup: ['clerk', 'ops', 'admin', 'courier'],
} as const satisfies Record<string, readonly Role[]>;

/** Wrong tokens one client address may send per minute before it must wait (a person mistypes a few). */
export const FAILED_TOKENS_PER_MINUTE = 20;

export interface RoleOptions {
  /**
   * EventSource cannot send headers, so the pages' event streams take the token as `?token=`. Every other
   * endpoint ignores a query token: it would end up in proxies' logs and browser history.
   */
  readonly queryToken?: boolean;
  /** An event stream: opening one shows no person at the station, so it does not keep a session awake. */
  readonly passive?: boolean;
}

/** An onRequest hook of `StaffAuth.require`, labelled with the roles it lets in. */
export type RoleHook = ((request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>) & {
  readonly roles: readonly Role[];
  readonly queryToken: boolean;
  /** Only a person's session cookie, no bearer token (the password change). */
  readonly sessionOnly: boolean;
};

/**
 * The clerk station marks the requests it makes by itself (refreshes after live events, polls) with this
 * header: they do not count as the person's activity, so an unattended station's session still runs out.
 */
export const BACKGROUND_HEADER = 'x-govlocker-background';

/** What a role may do at the clerk station (GET /me, and the answer of a sign-in). */
export const mayOf = (role: Role) => {
  const may = (allowed: readonly Role[]) => allowed.includes(role);
  // `load` without `loadAndCreate` is a courier: the station shows the scan box and nothing else.
  return { loadAndCreate: may(access.clerk), acknowledgeAlarms: may(access.ops), openRemotely: may(access.ops), load: may(access.loaders), viewCabinet: may(access.view) };
};

function bearer(request: FastifyRequest, options: RoleOptions): string | null {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  if (!options.queryToken) return null;
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.token === 'string' ? query.token : null;
}

type SignInRefusal = { status: 401 | 403; error: string; path: string; code?: string; clearCookie?: boolean };

/**
 * Staff sign-in: a bearer token (machines, and people who paste one), or the session cookie of a person
 * signed in with a password (POST /api/v1/session), with a per-address brake on wrong tokens and passwords.
 */
export class StaffAuth {
  readonly #failures = new FailureThrottle(FAILED_TOKENS_PER_MINUTE, 60_000);
  /** The session id each cookie-signed request came with. */
  readonly #sessionIds = new WeakMap<FastifyRequest, string>();

  constructor(private readonly users: UsersRepo, private readonly staff: StaffSignin, private readonly now: () => number = Date.now) {}

  /**
   * An onRequest hook (before the body is read or validated): 401 without a known token or a live session,
   * 403 with one of the wrong role (or a cookie-signed change from another site, or a password still to be
   * changed), 429 for an address that sent too many wrong tokens or passwords. So an unauthenticated caller
   * learns nothing about what a valid body looks like, and cannot try tokens at wire speed.
   */
  require(allowed: readonly Role[], options: RoleOptions = {}): RoleHook {
    return this.#hook(allowed, options, false);
  }

  /** Any signed-in person by their session cookie, even one who must change their password first. */
  person(): RoleHook {
    return this.#hook(roles, {}, true);
  }

  #hook(allowed: readonly Role[], options: RoleOptions, sessionOnly: boolean): RoleHook {
    const hook = async (request: FastifyRequest, reply: FastifyReply) => {
      const wait = this.waitSeconds(request);
      if (wait !== null) return this.tooMany(reply, request, wait);
      const token = sessionOnly ? null : bearer(request, options);
      let user: UserRow | undefined;
      if (token) {
        user = this.users.byToken(token);
        if (!user) {
          this.recordFailure(request);
          return refuse(request, reply, { status: 401, error: 'sign in: send "Authorization: Bearer <token>" with a valid token, or sign in with your name and password (POST /api/v1/session)', path: 'authorization' });
        }
      } else {
        const signedIn = this.#bySession(request, options, sessionOnly);
        if ('status' in signedIn) return refuse(request, reply, signedIn);
        user = signedIn.user;
      }
      if (!allowed.includes(user.role)) {
        return reply.code(403).send({ error: `the ${user.role} role may not do this; it needs ${allowed.join(' or ')}`, issues: [{ path: 'authorization', message: `role ${user.role} not allowed` }] });
      }
      request.user = user;
    };
    // The route carries who may call it, so the API's own description (GET /docs/json) is read from the routes.
    return Object.assign(hook, { roles: allowed, queryToken: options.queryToken === true, sessionOnly });
  }

  #bySession(request: FastifyRequest, options: RoleOptions, passwordChange: boolean): { user: UserRow } | SignInRefusal {
    const id = sessionIdOf(request);
    if (!id) {
      return passwordChange
        ? { status: 401, error: 'sign in with your name and password first (POST /api/v1/session): a password is changed from a signed-in session', path: 'cookie' }
        : { status: 401, error: 'sign in: send "Authorization: Bearer <token>" with a valid token, or sign in with your name and password (POST /api/v1/session)', path: 'authorization' };
    }
    // Before the session is looked at: a request from another site must not even keep it awake.
    const crossSite = crossSiteProblem(request);
    if (crossSite) return { status: 403, error: crossSite, path: 'origin', code: 'cross-site' };
    const passive = options.passive === true || request.headers[BACKGROUND_HEADER] === '1';
    const session = this.staff.session(id, !passive);
    if (!session) {
      const { sessionIdleMinutes, sessionHours } = this.staff.limits;
      return { status: 401, error: `your session has ended (signed out, ${sessionIdleMinutes} minutes without activity, ${sessionHours} hours since sign-in, or a restart of the cabinet): sign in again`, path: 'cookie', clearCookie: true };
    }
    const user = this.users.byId(session.userId);
    if (!user) {
      this.staff.sessions.end(id);
      return { status: 401, error: `${session.name} may no longer sign in: ask an admin`, path: 'cookie', clearCookie: true };
    }
    if (session.mustChangePassword && !passwordChange) {
      return { status: 403, error: 'set a password of your own first: POST /api/v1/session/password {"current","next"} (the one you signed in with was made for you)', path: 'password', code: 'password-change-required' };
    }
    this.#sessionIds.set(request, id);
    return { user };
  }

  /** The session id a cookie-signed request came with; null for a bearer token. */
  sessionIdOf(request: FastifyRequest): string | null {
    return this.#sessionIds.get(request) ?? null;
  }

  /**
   * Calls `ended` once the session a request came with has ended (signed out, idle, too old, the person
   * removed), checking every `everyMs`; for the event streams. Returns what stops the watch.
   */
  whileSignedIn(request: FastifyRequest, ended: () => void, everyMs = 2000): () => void {
    const id = this.sessionIdOf(request);
    if (!id) return () => undefined;
    const timer = setInterval(() => {
      const session = this.staff.session(id, false);
      if (session && this.users.byId(session.userId)) return;
      clearInterval(timer);
      ended();
    }, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Seconds the request's address must still wait after too many wrong tokens or passwords, or null. */
  waitSeconds(request: FastifyRequest): number | null {
    return this.#failures.waitSeconds(request.ip, this.now());
  }

  recordFailure(request: FastifyRequest): void {
    this.#failures.record(request.ip, this.now());
  }

  tooMany(reply: FastifyReply, request: FastifyRequest, wait: number): FastifyReply {
    return reply.code(429).header('retry-after', String(wait)).send({ error: `too many wrong tokens or passwords from ${request.ip}: wait ${wait} s, then sign in again`, issues: [{ path: 'authorization', message: 'too many wrong tokens or passwords' }] });
  }
}

function refuse(request: FastifyRequest, reply: FastifyReply, r: SignInRefusal): FastifyReply {
  if (r.status === 401) reply.header('www-authenticate', 'Bearer');
  if (r.clearCookie) setSessionCookie(request, reply, null);
  return reply.code(r.status).send({ error: r.error, ...(r.code ? { code: r.code } : {}), issues: [{ path: r.path, message: r.error }] });
}

export const actorOf = (request: FastifyRequest): string => (request.user ? `${request.user.role}:${request.user.name}` : 'anonymous');
