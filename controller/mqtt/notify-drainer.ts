import type { Logger } from 'pino';
import { readQueuedNotify, type NotifyPayload } from '../domain/notify.ts';
import type { Db } from '../store/database.ts';
import type { MqttLink } from './mqtt-link.ts';
import type { Topics } from './topics.ts';

export interface NotifyDrainerOptions {
  readonly db: Db;
  readonly link: MqttLink;
  readonly topics: Topics;
  /** Opens a queued payload (it is stored encrypted: it holds the full phone number). */
  readonly decrypt: (blob: Buffer) => unknown;
  /** Whether a queued reminder is still worth sending (its case still waits); a credential always is. */
  readonly reminderStillWanted: (caseNo: string) => boolean;
  readonly logger: Logger;
}

/**
 * Delivers the notify outbox to `…/notify` for the SMS gateway, in order, at QoS 1: credentials (`kind`
 * `credential`) and reminders (`reminder`); a row is deleted once the broker has it. A reminder whose case no
 * longer waits (collected while the broker was away) is deleted unsent.
 */
export class NotifyDrainer {
  #busy = false;

  constructor(private readonly o: NotifyDrainerOptions) {}

  start(): void {
    this.o.link.onConnected(() => this.kick());
  }

  kick(): void {
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    const { db, link, topics, logger } = this.o;
    try {
      while (link.state === 'connected') {
        const rows = db.prepare('SELECT seq, payload_enc FROM notify_outbox WHERE sent_at IS NULL ORDER BY seq LIMIT 50').all() as { seq: number; payload_enc: Buffer }[];
        if (rows.length === 0) break;
        for (const row of rows) {
          const payload = this.#open(row);
          if (payload && (payload.kind !== 'reminder' || this.o.reminderStillWanted(payload.caseNo))) {
            // The message is useless once the credential has expired: let the broker drop it then (MQTT 5).
            const expirySeconds = Math.max(60, (Date.parse(payload.expiresAt) - Date.now()) / 1000);
            await link.publish(topics.notify, JSON.stringify(payload), { qos: 1, expirySeconds });
          }
          if (db.open) db.prepare('DELETE FROM notify_outbox WHERE seq = ?').run(row.seq);
        }
      }
    } catch (error) {
      logger.debug({ err: (error as Error).message }, 'notify delivery paused until the broker is back');
    } finally {
      this.#busy = false;
    }
  }

  /** The payload, or null for a row that cannot be read (logged without its content, then dropped so the rest go out). */
  #open(row: { seq: number; payload_enc: Buffer }): NotifyPayload | null {
    try {
      return readQueuedNotify(this.o.decrypt(row.payload_enc));
    } catch (error) {
      this.o.logger.error({ seq: row.seq, err: error instanceof Error ? error.name : 'unreadable' }, 'a queued notify message cannot be read: dropped');
      return null;
    }
  }
}
