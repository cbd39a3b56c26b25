import { z } from 'zod';

/**
 * What the fleet monitor reads off the broker (CONTRACT §4), parsed once at the edge. Fields the contract
 * adds later pass through unread; a payload missing what the monitor needs is refused with the reason.
 */

const count = z.number().int().min(0);

/** The cabinet ids the config accepts (`controller/config/schema.ts`); a topic naming anything else is ignored. */
export const CABINET_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

export const compartmentCountsSchema = z.object({ total: count, empty: count, loaded: count, fault: count, disabled: count });
export type CompartmentCounts = z.infer<typeof compartmentCountsSchema>;

const onlineStatusSchema = z.object({
  online: z.literal(true),
  bootId: z.string().min(1).max(100),
  ts: z.string().max(40).optional(),
  version: z.string().max(40).optional(),
  compartments: compartmentCountsSchema.optional(),
  hardware: z.enum(['ok', 'lost']).optional(),
  outbox: count.optional(),
});

/** The last will, or what a clean shutdown publishes. */
const offlineStatusSchema = z.object({ online: z.literal(false), bootId: z.string().min(1).max(100).optional() });

export const statusSchema = z.discriminatedUnion('online', [onlineStatusSchema, offlineStatusSchema]);
export type StatusPayload = z.infer<typeof statusSchema>;

export const eventSchema = z.object({
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  bootId: z.string().min(1).max(100),
  id: z.string().min(1).max(100),
  ts: z.iso.datetime({ offset: true }),
  type: z.string().min(1).max(64),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type EventPayload = z.infer<typeof eventSchema>;

export const replySchema = z.object({
  requestId: z.string().min(1).max(80),
  ok: z.boolean(),
  result: z.unknown().optional(),
  error: z.string().max(500).optional(),
});
export type ReplyPayload = z.infer<typeof replySchema>;

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** JSON bytes → a typed payload, or why not. */
export function parsePayload<T>(schema: z.ZodType<T>, payload: Buffer): Parsed<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ') };
}
