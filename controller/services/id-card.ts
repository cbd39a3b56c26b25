import { randomUUID } from 'node:crypto';
import type { CardRead } from '../../firmware-bridge/idcard/card-read.ts';
import type { IdReader, LinkState } from '../../firmware-bridge/ports.ts';
import type { IdReaderState } from '../events/bus.ts';
import { idSuffix } from '../domain/identifiers.ts';
import { Keyring } from '../secrets/keyring.ts';
import type { ServiceContext } from './context.ts';
import type { CredentialService } from './credentials.ts';

/** How long a card read stands in for the typed ID suffix (CONTRACT §7). */
export const CARD_READ_TTL_MS = 120_000;

/**
 * Card reads from the ID-card reader, as the kiosk's second factor. Of a card it keeps only the keyed hash of
 * the ID suffix (the same hash a typed suffix gets), under a random `readId` that only the kiosk stream
 * learns, for 2 minutes and one attempt. Memory only: nothing of a card reaches the database or the logs.
 * Only the latest read counts: a card put on the reader replaces the read before it (the next person's card
 * must not leave the last one's usable), which also bounds the memory to one entry.
 */
export class IdCardService {
  #latest: { readonly readId: string; readonly suffixHash: string; readonly until: number } | null = null;

  constructor(private readonly s: ServiceContext, private readonly credentials: CredentialService) {}

  /** The reader's state for /health and the kiosk: `absent` when the cabinet has none. */
  static stateOf(reader: IdReader | null): IdReaderState {
    return reader ? readerState(reader.link) : 'absent';
  }

  /** The reader's link changed: the kiosk offers the card only while the reader answers. */
  readerLink(link: LinkState): void {
    this.s.bus.kiosk.emit({ type: 'id-reader', state: readerState(link) });
  }

  /** A card was read: keep its suffix hash, tell the kiosk (masked), and let the card object go. */
  cardRead(card: CardRead): void {
    const now = this.s.store.clock.now();
    const readId = randomUUID();
    this.#latest = { readId, suffixHash: this.credentials.hashIdSuffix(idSuffix(card.idNumber)), until: now + CARD_READ_TTL_MS };
    this.s.logger.debug('ID card read: its suffix hash is kept for one attempt');
    this.s.bus.kiosk.emit({ type: 'id-card', readId, masked: card.masked, expiresInSeconds: CARD_READ_TTL_MS / 1000 });
  }

  /**
   * Spends a read on one attempt: the keyed hash of its ID suffix, or `null` when the read is unknown, expired
   * or already used (the caller counts that as a failed attempt, like a wrong suffix).
   */
  take(readId: string): string | null {
    const read = this.#latest;
    if (!read || !Keyring.sameHash(read.readId, readId)) return null;
    this.#latest = null;
    return read.until > this.s.store.clock.now() ? read.suffixHash : null;
  }
}

const readerState = (link: LinkState): IdReaderState => (link === 'ok' ? 'ok' : 'lost');
