import { z } from 'zod';
import { codeSchemaPattern, qrPattern } from './credentials.ts';

/**
 * What the SMS gateway reads on `…/notify` (CONTRACT §4, §9): the only messages that carry the applicant's full
 * phone number. Each says what it is by `kind`:
 *
 * - `credential`: a pickup credential was issued (the case became ready, a clerk re-issued it, or the applicant
 *   asked again at the kiosk): the code and the QR, with their expiry.
 * - `reminder`: the credential expires soon and the items still wait. It carries no code: the cabinet keeps
 *   only keyed hashes of the current code, and it will not issue a new one (which would silently revoke the
 *   code the applicant has). The applicant who lost the code asks the kiosk ("没收到取件码？") or the window.
 */
export const notifyKinds = ['credential', 'reminder'] as const;
export type NotifyKind = (typeof notifyKinds)[number];

const iso = z.iso.datetime({ offset: true });
const base = {
  caseNo: z.string().min(1),
  phone: z.string().min(1),
  expiresAt: iso,
};

export const credentialNotifySchema = z.object({
  kind: z.literal('credential'),
  ...base,
  code: z.string().regex(codeSchemaPattern),
  qr: z.string().regex(qrPattern),
}).strict();

export const reminderNotifySchema = z.object({
  kind: z.literal('reminder'),
  ...base,
  /** What happens after `expiresAt`: the code stops working (collect at the window) or keeps working until staff take the items back. */
  whenOverdue: z.enum(['expire', 'keep-valid']),
  /** The window that helps, for the message's text. */
  helpWindow: z.string().min(1),
}).strict();

export const notifyPayloadSchema = z.discriminatedUnion('kind', [credentialNotifySchema, reminderNotifySchema]);
export type NotifyPayload = z.infer<typeof notifyPayloadSchema>;
export type CredentialNotify = z.infer<typeof credentialNotifySchema>;
export type ReminderNotify = z.infer<typeof reminderNotifySchema>;

/** A queued payload as stored: messages queued before `kind` existed were all credentials. */
export function readQueuedNotify(stored: unknown): NotifyPayload {
  const withKind = stored && typeof stored === 'object' && !('kind' in stored) ? { kind: 'credential', ...stored } : stored;
  return notifyPayloadSchema.parse(withKind);
}
