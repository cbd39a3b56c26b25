import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Cabinet } from '../../controller/cabinet.ts';
import type { StaffSession } from '../../controller/services/staff-sessions.ts';
import { mayOf, type StaffAuth } from '../auth.ts';
import { crossSiteProblem, sessionIdOf, setSessionCookie } from '../session-cookie.ts';

const signinBody = z.object({
  name: z.string({ error: 'name is your sign-in name, e.g. "li"' }).trim().min(1, 'type your sign-in name, e.g. "li"').max(64, 'a sign-in name is at most 64 characters'),
  password: z.string({ error: 'password is your password, as text' }).min(1, 'type your password').max(1024, 'a password is at most 1024 characters'),
}).strict();

const passwordBody = z.object({
  current: z.string({ error: 'current is the password you signed in with' }).min(1, 'type the password you signed in with').max(1024, 'a password is at most 1024 characters'),
  next: z.string({ error: 'next is your new password, as text' }).min(1, 'type a new password (at least 10 characters; a short sentence is easy to remember)').max(1024, 'a password is at most 1024 characters'),
}).strict();

const WRONG_PAIR = 'the name or the password is wrong: check both and try again';

/** What a signed-in person sees of their session. */
function sessionView(s: StaffSession, idleMinutes: number, hours: number) {
  return {
    name: s.name, role: s.role, may: mayOf(s.role), mustChangePassword: s.mustChangePassword,
    idleMinutes, endsAt: new Date(s.startedAt + hours * 3_600_000).toISOString(),
  };
}

/** A person signs in with a name and a password (a session cookie), changes the password, signs out. */
export const sessionRoutes: FastifyPluginAsyncZod<{ cabinet: Cabinet; auth: StaffAuth }> = async (app, { cabinet, auth }) => {
  const staff = cabinet.services.staff;
  const view = (s: StaffSession) => sessionView(s, staff.limits.sessionIdleMinutes, staff.limits.sessionHours);

  /** Another site's page may neither sign anyone in nor out. */
  const sameOrigin = async (request: FastifyRequest, reply: FastifyReply) => {
    const crossSite = crossSiteProblem(request);
    if (crossSite) return reply.code(403).send({ error: crossSite, code: 'cross-site', issues: [{ path: 'origin', message: crossSite }] });
    return undefined;
  };
  /** Before the body is read: from this origin only, and an address that guessed too much waits. */
  const signinGate = async (request: FastifyRequest, reply: FastifyReply) => {
    const refused = await sameOrigin(request, reply);
    if (refused) return refused;
    const wait = auth.waitSeconds(request);
    if (wait !== null) return auth.tooMany(reply, request, wait);
    return undefined;
  };

  app.post('/session', { onRequest: signinGate, schema: { body: signinBody } }, async (request, reply) => {
    const outcome = await staff.signIn(request.body.name, request.body.password, request.ip);
    if (!outcome.ok) {
      auth.recordFailure(request);
      if (outcome.reason === 'locked') {
        const minutes = Math.ceil(outcome.retryAfterSeconds / 60);
        const error = `too many wrong passwords for this name: it is locked for ${minutes} more minute${minutes === 1 ? '' : 's'}; wait, then try again`;
        return reply.code(429).header('retry-after', String(outcome.retryAfterSeconds)).send({ error, code: 'signin-locked', issues: [{ path: 'name', message: error }] });
      }
      // One answer for an unknown name and a wrong password, so names cannot be tried out.
      return reply.code(401).send({ error: WRONG_PAIR, issues: [{ path: 'name', message: WRONG_PAIR }, { path: 'password', message: WRONG_PAIR }] });
    }
    setSessionCookie(request, reply, outcome.sessionId);
    return view(outcome.session);
  });

  // Signs out whatever session the cookie names; without one there is nothing to end, and the answer is the same.
  app.delete('/session', { onRequest: sameOrigin }, async (request, reply) => {
    const id = sessionIdOf(request);
    const signedOut = id ? staff.signOut(id, request.ip) : false;
    if (id) setSessionCookie(request, reply, null);
    return { signedOut };
  });

  app.post('/session/password', { onRequest: auth.person(), schema: { body: passwordBody } }, async (request, reply) => {
    const id = auth.sessionIdOf(request)!;
    const outcome = await staff.changePassword(id, request.body.current, request.body.next, request.ip);
    if (outcome.ok) return view(outcome.session);
    switch (outcome.reason) {
      case 'weak':
        return reply.code(400).send({ error: `next: ${outcome.problem}`, code: 'weak-password', issues: [{ path: 'next', message: outcome.problem }] });
      case 'wrong-current': {
        auth.recordFailure(request);
        const error = 'current: that is not your current password: type the one you signed in with';
        return reply.code(400).send({ error, code: 'wrong-password', issues: [{ path: 'current', message: error }] });
      }
      case 'locked': {
        auth.recordFailure(request);
        setSessionCookie(request, reply, null);
        const error = `too many wrong passwords: ${request.user!.name} is locked and signed out; sign in again after ${Math.ceil(outcome.retryAfterSeconds / 60)} minutes`;
        return reply.code(429).header('retry-after', String(outcome.retryAfterSeconds)).send({ error, code: 'signin-locked', issues: [{ path: 'current', message: error }] });
      }
      case 'signed-out':
        setSessionCookie(request, reply, null);
        return reply.code(401).send({ error: 'your session has ended: sign in again', issues: [{ path: 'cookie', message: 'the session has ended' }] });
    }
  });
};
