import type { Db } from './database.ts';

/**
 * Messages for the SMS gateway (`…/notify`), queued in the change that causes them and delivered by the
 * notify drainer (controller/mqtt/outbox-drainer.ts). The payload is stored encrypted: it holds the full phone.
 */
export class NotifyOutbox {
  constructor(private readonly db: Db) {}

  queue(caseNo: string, payloadEnc: Buffer, now: number): void {
    this.db.prepare('INSERT INTO notify_outbox (case_no, payload_enc, created_at) VALUES (?, ?, ?)').run(caseNo, payloadEnc, now);
  }
}
