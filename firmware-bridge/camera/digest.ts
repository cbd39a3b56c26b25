import { createHash, randomBytes } from 'node:crypto';
import type { Challenge } from './challenge.ts';

// HTTP Digest access authentication (RFC 7616), the client's side, as ONVIF cameras ask for it on their
// snapshot URI: MD5 and SHA-256 (and their -sess variants), qop "auth", the opaque echoed, nc and cnonce.
// Pure functions: the same computation checks a response on the simulated camera's side.

export const digestAlgorithms = ['MD5', 'SHA-256', 'MD5-sess', 'SHA-256-sess'] as const;
export type DigestAlgorithm = (typeof digestAlgorithms)[number];

/** What the server's `Digest` challenge says, read and checked. */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque?: string;
  readonly algorithm: DigestAlgorithm;
  /** `auth` when the server offers it; `null`: the server named no qop (RFC 2069's older form). */
  readonly qop: 'auth' | null;
  /** The username is sent hashed (RFC 7616 §3.4.4). */
  readonly userhash: boolean;
}

const hashOf = (algorithm: DigestAlgorithm) => (algorithm.startsWith('SHA-256') ? 'sha256' : 'md5');
const h = (algorithm: DigestAlgorithm, text: string) => createHash(hashOf(algorithm)).update(text, 'utf8').digest('hex');

/**
 * The `Digest` challenge as the client will answer it, or why not: an algorithm it does not know, or a qop
 * list without `auth` (only `auth-int`, which would need the body hashed).
 */
export function readDigestChallenge(challenge: Challenge): DigestChallenge | { unsupported: string } {
  const { realm, nonce, opaque } = challenge.params;
  if (realm === undefined || nonce === undefined) return { unsupported: 'a Digest challenge without realm or nonce' };
  const named = challenge.params.algorithm ?? 'MD5';
  const algorithm = digestAlgorithms.find((a) => a.toLowerCase() === named.toLowerCase());
  if (!algorithm) return { unsupported: `Digest algorithm ${named}` };
  const offered = challenge.params.qop?.split(',').map((q) => q.trim().toLowerCase());
  if (offered && !offered.includes('auth')) return { unsupported: `Digest qop ${challenge.params.qop}` };
  return { realm, nonce, ...(opaque !== undefined ? { opaque } : {}), algorithm, qop: offered ? 'auth' : null, userhash: challenge.params.userhash?.toLowerCase() === 'true' };
}

export interface DigestInput {
  readonly username: string;
  readonly password: string;
  readonly method: string;
  /** The request target as sent: path and query. */
  readonly uri: string;
  /** The nonce count, 1 for the first request under this nonce. */
  readonly nc: number;
  readonly cnonce: string;
}

/** The `response` of RFC 7616 §3.4.1, and the username as sent (hashed with `userhash`). */
export function digestResponse(challenge: DigestChallenge, input: DigestInput): { response: string; username: string; nc: string } {
  const { algorithm, realm, nonce } = challenge;
  const nc = input.nc.toString(16).padStart(8, '0');
  let ha1 = h(algorithm, `${input.username}:${realm}:${input.password}`);
  if (algorithm.endsWith('-sess')) ha1 = h(algorithm, `${ha1}:${nonce}:${input.cnonce}`);
  const ha2 = h(algorithm, `${input.method}:${input.uri}`);
  const response = challenge.qop === 'auth'
    ? h(algorithm, `${ha1}:${nonce}:${nc}:${input.cnonce}:auth:${ha2}`)
    : h(algorithm, `${ha1}:${nonce}:${ha2}`);
  const username = challenge.userhash ? h(algorithm, `${input.username}:${realm}`) : input.username;
  return { response, username, nc };
}

/** A fresh client nonce: 128 random bits. */
export const newCnonce = (): string => randomBytes(16).toString('base64url');

const quote = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;

/** The answer to a challenge as an `Authorization` header's value. */
export function digestAuthorization(challenge: DigestChallenge, input: DigestInput): string {
  const { response, username, nc } = digestResponse(challenge, input);
  const parts = [
    `username=${quote(username)}`, `realm=${quote(challenge.realm)}`, `uri=${quote(input.uri)}`, `algorithm=${challenge.algorithm}`,
    `nonce=${quote(challenge.nonce)}`,
    ...(challenge.qop === 'auth' ? [`nc=${nc}`, `cnonce=${quote(input.cnonce)}`, 'qop=auth'] : []),
    `response=${quote(response)}`,
    ...(challenge.opaque !== undefined ? [`opaque=${quote(challenge.opaque)}`] : []),
    ...(challenge.userhash ? ['userhash=true'] : []),
  ];
  return `Digest ${parts.join(', ')}`;
}
