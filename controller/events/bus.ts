import { ListenerSet } from '../../firmware-bridge/listeners.ts';
import type { CabinetEvent } from '../store/event-outbox.ts';

/** Why the doors of a checked credential cannot open: the board is unreachable, a lock jammed, a compartment is out of service or busy, the database cannot be written, or a required camera does not answer. */
export type OutOfServiceCause = 'board-offline' | 'jammed' | 'compartment-unavailable' | 'storage-failing' | 'camera-unavailable';

/** The ID-card reader as /health and the kiosk see it. */
export type IdReaderState = 'ok' | 'lost' | 'absent';

/** What the kiosk screen may see: never a credential, never personal data. */
export type KioskMessage =
  | { readonly type: 'scan'; readonly kind: 'pickup-qr' | 'unknown'; readonly masked: string }
  | { readonly type: 'need-id'; readonly scanId: string; readonly expiresInSeconds: number }
  /** A card on the ID-card reader: `readId` stands in for the typed ID suffix once; `masked` is all the screen shows. */
  | { readonly type: 'id-card'; readonly readId: string; readonly masked: string; readonly expiresInSeconds: number }
  /** The ID-card reader came or went: the screen offers the card only while it answers. */
  | { readonly type: 'id-reader'; readonly state: IdReaderState }
  | { readonly type: 'opening'; readonly compartments: string[]; readonly items: { type: string; label: string | null }[]; readonly caseNo: string }
  | { readonly type: 'door-opened'; readonly compartment: string }
  /** A door has stood open longer than `hardware.leftOpenMs` (repeated while it stays open). */
  | { readonly type: 'left-open'; readonly compartment: string }
  | { readonly type: 'collected'; readonly caseNo: string }
  /** The applicant said an item is wrong at the doors: put everything back and shut them. */
  | { readonly type: 'return-requested'; readonly caseNo: string; readonly compartments: string[] }
  /** Every door shut after a return: the window has the case now. */
  | { readonly type: 'returned'; readonly caseNo: string }
  /** A compartment opened for a deposit; `received` once its door shut (with the document seen, where sensors exist). */
  | { readonly type: 'deposit-opened'; readonly compartment: string }
  | { readonly type: 'deposit-received'; readonly compartment: string }
  | { readonly type: 'deposit-aborted'; readonly compartment: string; readonly reason: string }
  /** `cause` tells the screen why an `out-of-service` refusal happened, so it can say it in plain words. */
  | { readonly type: 'denied'; readonly reason: string; readonly retryAfterSeconds?: number; readonly attemptsLeft?: number; readonly window?: string; readonly cause?: OutOfServiceCause };

/**
 * In-process fan-out, after commit: committed events (the same as MQTT `…/events`) and kiosk messages.
 * A failing listener is logged and isolated.
 */
export class EventBus {
  readonly events: ListenerSet<CabinetEvent>;
  readonly kiosk: ListenerSet<KioskMessage>;

  /** Where a failing listener's error goes (logged by the cabinet); other listener sets share it. */
  constructor(readonly onError: (error: unknown) => void) {
    this.events = new ListenerSet<CabinetEvent>(onError);
    this.kiosk = new ListenerSet<KioskMessage>(onError);
  }
}
