import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role, UserRow, UsersRepo } from '../controller/store/users-repo.ts';

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

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  // EventSource cannot send headers: the pages pass the token as ?token= (never logged, see server.ts).
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.token === 'string' ? query.token : null;
}

/**
 * An onRequest hook (before the body is read or validated): 401 without a known token, 403 with a known
 * token of the wrong role. So an unauthenticated caller learns nothing about what a valid body looks like.
 */
export function requireRole(users: UsersRepo, allowed: readonly Role[]) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const token = bearer(request);
    const user = token ? users.byToken(token) : undefined;
    if (!user) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'sign in: send "Authorization: Bearer <token>" with a valid token', issues: [{ path: 'authorization', message: 'missing or unknown token' }] });
    }
    if (!allowed.includes(user.role)) {
      return reply.code(403).send({ error: `the ${user.role} role may not do this; it needs ${allowed.join(' or ')}`, issues: [{ path: 'authorization', message: `role ${user.role} not allowed` }] });
    }
    request.user = user;
  };
}

export const actorOf = (request: FastifyRequest): string => (request.user ? `${request.user.role}:${request.user.name}` : 'anonymous');
