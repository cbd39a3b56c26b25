import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role, UserRow, UsersRepo } from '../controller/store/users-repo.ts';
import { FailureThrottle } from './failure-throttle.ts';

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
} as const satisfies Record<string, readonly Role[]>;

/** Wrong tokens one client address may send per minute before it must wait (a person mistypes a few). */
export const FAILED_TOKENS_PER_MINUTE = 20;

export interface RoleOptions {
  /**
   * EventSource cannot send headers, so the pages' event streams take the token as `?token=`. Every other
   * endpoint ignores a query token: it would end up in proxies' logs and browser history.
   */
  readonly queryToken?: boolean;
}

/** An onRequest hook of `StaffAuth.require`, labelled with the roles it lets in. */
export type RoleHook = ((request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>) & {
  readonly roles: readonly Role[];
  readonly queryToken: boolean;
};

function bearer(request: FastifyRequest, options: RoleOptions): string | null {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  if (!options.queryToken) return null;
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.token === 'string' ? query.token : null;
}

/** Staff sign-in by bearer token, with a per-address brake on wrong tokens. */
export class StaffAuth {
  readonly #failures = new FailureThrottle(FAILED_TOKENS_PER_MINUTE, 60_000);

  constructor(private readonly users: UsersRepo, private readonly now: () => number = Date.now) {}

  /**
   * An onRequest hook (before the body is read or validated): 401 without a known token, 403 with a known
   * token of the wrong role, 429 for an address that sent too many wrong tokens. So an unauthenticated
   * caller learns nothing about what a valid body looks like, and cannot try tokens at wire speed.
   */
  require(allowed: readonly Role[], options: RoleOptions = {}): RoleHook {
    const hook = async (request: FastifyRequest, reply: FastifyReply) => {
      const wait = this.#failures.waitSeconds(request.ip, this.now());
      if (wait !== null) {
        return reply.code(429).header('retry-after', String(wait)).send({ error: `too many wrong tokens from ${request.ip}: wait ${wait} s, then sign in with a valid token`, issues: [{ path: 'authorization', message: 'too many wrong tokens' }] });
      }
      const token = bearer(request, options);
      const user = token ? this.users.byToken(token) : undefined;
      if (!user) {
        if (token) this.#failures.record(request.ip, this.now());
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'sign in: send "Authorization: Bearer <token>" with a valid token', issues: [{ path: 'authorization', message: 'missing or unknown token' }] });
      }
      if (!allowed.includes(user.role)) {
        return reply.code(403).send({ error: `the ${user.role} role may not do this; it needs ${allowed.join(' or ')}`, issues: [{ path: 'authorization', message: `role ${user.role} not allowed` }] });
      }
      request.user = user;
    };
    // The route carries who may call it, so the API's own description (GET /docs/json) is read from the routes.
    return Object.assign(hook, { roles: allowed, queryToken: options.queryToken === true });
  }
}

export const actorOf = (request: FastifyRequest): string => (request.user ? `${request.user.role}:${request.user.name}` : 'anonymous');
