import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { canonicalJson } from '../domain/canonical-json.ts';
import { commandNames, type CommandName } from './topics.ts';

/** Commands may live at most this long (CONTRACT §4). */
export const MAX_COMMAND_LIFETIME_MS = 5 * 60_000;
/** Clocks of ops and cabinet may differ a little. */
export const CLOCK_SKEW_MS = 30_000;

const isoTime = z.iso.datetime({ offset: true, error: 'an ISO 8601 time, e.g. "2026-11-23T10:00:00Z"' });

/** What a requestId looks like; only one that does is ever echoed in a reply, an event or the audit chain. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{8,80}$/;

/** The fields of a command, and no others. */
const COMMAND_FIELDS = ['requestId', 'issuedAt', 'expiresAt', 'cmd', 'args', 'sig'] as const;

export const signedCommandSchema = z.object({
  requestId: z.string().regex(REQUEST_ID, 'requestId is 8–80 letters, digits, ".", "_", ":" or "-" (a UUID fits)'),
  issuedAt: isoTime,
  expiresAt: isoTime,
  /** The command's name, signed with it, so a signature cannot be replayed on another command's topic. */
  cmd: z.string({ error: (issue) => `${issue.input === undefined ? 'required' : 'a string'}: the command's name, signed with it; must equal the topic's name` })
    .regex(/^[a-z][a-z0-9_-]{0,31}$/, "the command's name (lower-case letters, e.g. \"open\"), signed with it; must equal the topic's name"),
  args: z.record(z.string(), z.unknown()).default({}),
  sig: z.string().regex(/^[0-9a-f]{64}$/, 'sig is the hex HMAC-SHA256 of the canonical JSON without sig'),
}).strict();
export type SignedCommand = z.infer<typeof signedCommandSchema>;

export function signCommand(key: Buffer, body: Omit<SignedCommand, 'sig'>): SignedCommand {
  return { ...body, sig: createHmac('sha256', key).update(canonicalJson(body)).digest('hex') };
}

/** Builds and signs a command the way `govlocker cmd` does. */
export function newCommand(key: Buffer, name: string, args: Record<string, unknown>, now = Date.now(), lifetimeMs = 60_000): SignedCommand {
  return signCommand(key, { requestId: randomUUID(), issuedAt: new Date(now).toISOString(), expiresAt: new Date(now + lifetimeMs).toISOString(), cmd: name, args });
}

export type Verification =
  | { readonly ok: true; readonly command: SignedCommand }
  /** requestId only when it has the form of one (never text an unknown sender chose); error is the cabinet's own words. */
  | { readonly ok: false; readonly requestId: string | null; readonly error: string };

/**
 * Checks a command before anything else looks at it: parseable, naming its command, signed with this cabinet's
 * key (in constant time), meant for this topic, not expired, not living longer than 5 minutes, not from the future.
 */
export function verifyCommand(key: Buffer, name: string, payload: Buffer, now: number): Verification {
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, requestId: null, error: 'not JSON' };
  }
  const rawId = raw && typeof raw === 'object' ? (raw as { requestId?: unknown }).requestId : undefined;
  const requestId = typeof rawId === 'string' && REQUEST_ID.test(rawId) ? rawId : null;
  const parsed = signedCommandSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, requestId, error: `malformed: ${parsed.error.issues.map(describeIssue).join('; ')}` };
  const { sig, ...body } = parsed.data;
  // Sign exactly what was sent (without sig), so no field can be added or changed unnoticed.
  const { sig: _ignored, ...sent } = raw as Record<string, unknown>;
  const expected = createHmac('sha256', key).update(canonicalJson(sent)).digest();
  const given = Buffer.from(sig, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, requestId, error: 'bad signature' };
  // The signed cmd is ops' own word; the topic's name is repeated back only when it is a command's name.
  if (body.cmd !== name) return { ok: false, requestId, error: `cmd: signed as "${body.cmd}" but sent on ${isCommandName(name) ? `…/cmd/${name}` : "another command's topic"}; a signature is good for its own command only` };
  const issuedAt = Date.parse(body.issuedAt);
  const expiresAt = Date.parse(body.expiresAt);
  if (expiresAt <= issuedAt) return { ok: false, requestId, error: 'expiresAt is not after issuedAt' };
  if (expiresAt - issuedAt > MAX_COMMAND_LIFETIME_MS) return { ok: false, requestId, error: 'lives longer than 5 minutes' };
  if (issuedAt > now + CLOCK_SKEW_MS) return { ok: false, requestId, error: 'issued in the future' };
  if (expiresAt <= now) return { ok: false, requestId, error: 'expired' };
  return { ok: true, command: parsed.data };
}

/** Whether a topic's name is one of the cabinet's commands (the only names it repeats in refusals). */
export function isCommandName(name: string): name is CommandName {
  return (commandNames as readonly string[]).includes(name);
}

/** One schema complaint in the cabinet's words: field names only from the schema, never the sender's key names. */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `body: unknown field; a command has only ${COMMAND_FIELDS.join(', ')}`;
  const field = (COMMAND_FIELDS as readonly unknown[]).includes(issue.path[0]) ? String(issue.path[0]) : 'body';
  return `${field}: ${issue.message}`;
}

/** The cabinet's command key: a file of 64 hex characters, mode 0600, made at first start when missing. */
export function loadOrCreateCommandKey(file: string): Buffer {
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  if (statSync(file).mode & 0o077) chmodSync(file, 0o600);
  return readCommandKey(file);
}

export function readCommandKey(file: string): Buffer {
  const text = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new Error(`${file} is not a command key (64 hex characters)`);
  return Buffer.from(text, 'hex');
}
