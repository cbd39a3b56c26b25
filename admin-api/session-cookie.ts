import type { FastifyReply, FastifyRequest } from 'fastify';

// The staff session cookie, and the check that keeps other sites from using it. The cookie is HttpOnly (no
// script reads it), SameSite=Strict (a browser leaves it off requests another site starts), Path=/, without
// Max-Age (it ends with the browser), and Secure whenever the request came over HTTPS.

export const SESSION_COOKIE = 'govlocker_session';

/** Methods that change something: a cookie-signed one must come from the cabinet's own pages. */
const CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The `Set-Cookie` value of a session (`id`), or of its removal (`null`). */
export function sessionCookie(id: string | null, secure: boolean): string {
  return [`${SESSION_COOKIE}=${id ?? ''}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', ...(id === null ? ['Max-Age=0'] : []), ...(secure ? ['Secure'] : [])].join('; ');
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, id: string | null): void {
  reply.header('set-cookie', sessionCookie(id, request.protocol === 'https'));
}

/** The session id the request's cookie carries, or null. */
export function sessionIdOf(request: FastifyRequest): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

/**
 * Why a request may not act with the session cookie, or null when it may: a change (POST, PUT, PATCH, DELETE)
 * must come from this origin, as the browser reports it (`Sec-Fetch-Site`, `Origin`; a program that sends
 * neither is no browser page of another site). Reads are never refused here.
 */
export function crossSiteProblem(request: FastifyRequest): string | null {
  if (!CHANGING.has(request.method)) return null;
  const site = request.headers['sec-fetch-site'];
  const origin = request.headers.origin;
  const own = `${request.protocol}://${request.host}`.toLowerCase();
  if (site !== undefined && site !== 'same-origin') return `this ${request.method} came from another site (Sec-Fetch-Site: ${JSON.stringify(String(site).slice(0, 40))}): with the session cookie, changes are made from the cabinet's own pages only; a program sends "Authorization: Bearer <token>" instead`;
  if (origin !== undefined && origin.toLowerCase() !== own) return `this ${request.method} came from the origin ${JSON.stringify(origin.slice(0, 100))}, not from ${own}: with the session cookie, changes are made from the cabinet's own pages only; a program sends "Authorization: Bearer <token>" instead`;
  return null;
}
