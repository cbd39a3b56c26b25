import { notifyPayloadSchema, type NotifyPayload } from '../domain/notify.ts';
import { NotifyOutbox } from '../store/notify-outbox.ts';
import type { ServiceContext } from './context.ts';

/** Queues a message for the SMS gateway in the caller's change: checked against its schema, then encrypted. */
export function queueNotify(s: ServiceContext, now: number, payload: NotifyPayload): void {
  const checked = notifyPayloadSchema.parse(payload);
  new NotifyOutbox(s.store.db).queue(checked.caseNo, s.keyring.encrypt(checked), now);
}
